// Package weights holds the shipped weights files, embedded, so that the
// command line works from any folder and after go install, and the server
// serves the same set. A file ships when its name is <model>-x<scale>.gob
// for a known model (Models) and a scale from 2 to 4, or
// <model>-x<scale>-denoise.gob for the JPEG-aware network that takes over
// from it at denoise strengths above 0 on hard JPEGs,
// <model>-x<scale>-restore.gob for the real-photo network that does so on
// blurred and noisy pixels, or <model>-x<scale>-detailed.gob for the
// Detailed look's adversarially trained network; this listing is the one
// list of what ships (the page reads it as weights/index.json), beside the
// degradation estimator, Estimator.
package weights

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

//go:embed general-x*.gob portrait-x*.gob estimator.gob
var files embed.FS

// FS is the shipped weights files, at its root.
var FS fs.FS = files

// Models are the model names the product knows, in the order it offers them.
var Models = []string{"general", "portrait"}

// Looks are the looks the product offers: faithful (the networks trained
// for fidelity) and detailed (adversarially trained: they invent fine
// texture).
var Looks = []string{"faithful", "detailed"}

var fileName = regexp.MustCompile(`^(general|portrait)-x([234])(-denoise|-restore|-detailed)?\.gob$`)

// Estimator is the file of the degradation estimator that automatic
// restoration reads pixels with (core.EstimateStrength).
const Estimator = "estimator.gob"

// Entry is one shipped weights file.
type Entry struct {
	Model   string // "general" or "portrait"
	Scale   int    // 2, 3 or 4
	Denoise bool   // the JPEG-aware network, for denoise strengths above 0
	Restore bool   // the real-photo network, for blurred and noisy pixels
	Look    string // "detailed" for the Detailed look's network, else "" (faithful)
	File    string // its name in the file system
}

// FileName is the name a model's weights for a scale ship under.
func FileName(model string, scale int) string { return fmt.Sprintf("%s-x%d.gob", model, scale) }

// DenoiseFileName is the name of a model's JPEG-aware weights for a scale.
func DenoiseFileName(model string, scale int) string {
	return fmt.Sprintf("%s-x%d-denoise.gob", model, scale)
}

// RestoreFileName is the name of a model's real-photo weights for a scale.
func RestoreFileName(model string, scale int) string {
	return fmt.Sprintf("%s-x%d-restore.gob", model, scale)
}

// DetailedFileName is the name of a model's Detailed-look weights for a
// scale.
func DetailedFileName(model string, scale int) string {
	return fmt.Sprintf("%s-x%d-detailed.gob", model, scale)
}

// List returns the files at the root of fsys whose names are shipped
// weights' names, sorted by name. It does not read them.
func List(fsys fs.FS) ([]Entry, error) {
	des, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var es []Entry
	for _, d := range des {
		m := fileName.FindStringSubmatch(d.Name())
		if m == nil || d.IsDir() {
			continue
		}
		scale, _ := strconv.Atoi(m[2])
		e := Entry{Model: m[1], Scale: scale, Denoise: m[3] == "-denoise", Restore: m[3] == "-restore", File: d.Name()}
		if m[3] == "-detailed" {
			e.Look = "detailed"
		}
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].File < es[j].File })
	return es, nil
}

// Read returns the shipped weights file of a model at a scale, or an error
// that says which ship.
func Read(model string, scale int) ([]byte, error) {
	data, err := fs.ReadFile(FS, FileName(model, scale))
	if err == nil {
		return data, nil
	}
	es, _ := List(FS)
	var have []string
	for _, e := range es {
		if e.File == FileName(e.Model, e.Scale) { // the models, not their companions
			have = append(have, fmt.Sprintf("%s x%d", e.Model, e.Scale))
		}
	}
	return nil, fmt.Errorf("no %s model ships for x%d (shipped: %v)", model, scale, have)
}

// Companion returns the name of the JPEG-aware file in fsys that takes
// over from a model's network at a scale above denoise strength 0: the
// model's own where it ships, else the general model's, since on portrait
// JPEGs the general JPEG-aware network is far ahead of the clean portrait
// one (val/Faces x2 from q50 JPEGs: 32.48 dB against 31.72, bicubic
// 31.98). It returns false if neither ships.
func Companion(fsys fs.FS, model string, scale int) (string, bool) {
	return ownOrGeneral(fsys, model, scale, DenoiseFileName)
}

// Restoring returns the name of the real-photo file in fsys for a model at
// a scale: the model's own where it ships, else the general model's. It
// returns false if neither ships.
func Restoring(fsys fs.FS, model string, scale int) (string, bool) {
	return ownOrGeneral(fsys, model, scale, RestoreFileName)
}

// Detailed returns the name of the Detailed-look file in fsys for a model
// at a scale: the model's own where it ships, else the general model's. It
// returns false if neither ships.
func Detailed(fsys fs.FS, model string, scale int) (string, bool) {
	return ownOrGeneral(fsys, model, scale, DetailedFileName)
}

// ownOrGeneral is the first of the model's and the general model's files
// named by name that ships in fsys.
func ownOrGeneral(fsys fs.FS, model string, scale int, name func(string, int) string) (string, bool) {
	for _, m := range []string{model, "general"} {
		if st, err := fs.Stat(fsys, name(m, scale)); err == nil && !st.IsDir() {
			return name(m, scale), true
		}
	}
	return "", false
}

// ReadDenoise returns the shipped JPEG-aware weights for a model at a
// scale (see Companion) and their file name, or an error wrapping
// fs.ErrNotExist if none ship.
func ReadDenoise(model string, scale int) ([]byte, string, error) {
	return readOwnOrGeneral(model, scale, DenoiseFileName, "JPEG-aware network")
}

// ReadDetailed returns the shipped Detailed-look weights for a model at a
// scale (see Detailed) and their file name, or an error wrapping
// fs.ErrNotExist if none ship.
func ReadDetailed(model string, scale int) ([]byte, string, error) {
	return readOwnOrGeneral(model, scale, DetailedFileName, "Detailed-look network")
}

// ReadRestore returns the shipped real-photo weights for a model at a scale
// (see Restoring) and their file name, or an error wrapping fs.ErrNotExist
// if none ship.
func ReadRestore(model string, scale int) ([]byte, string, error) {
	return readOwnOrGeneral(model, scale, RestoreFileName, "real-photo network")
}

// readOwnOrGeneral reads the shipped file named by name for the model, or
// else for the general model (ownOrGeneral); what names it in the error.
func readOwnOrGeneral(model string, scale int, name func(string, int) string, what string) ([]byte, string, error) {
	file, ok := ownOrGeneral(FS, model, scale, name)
	if !ok {
		return nil, name(model, scale), fmt.Errorf("no %s ships for %s x%d: %w", what, model, scale, fs.ErrNotExist)
	}
	data, err := fs.ReadFile(FS, file)
	return data, file, err
}
