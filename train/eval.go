package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/metrics"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training"
	"github.com/srcnn-web/upscaler/weights"
)

// score is a mean PSNR-Y (dB), SSIM-Y and, where asked for, NIQE (of the
// images whose NIQE is defined: two 96x96 blocks or more).
type score struct {
	PSNR float64 `json:"psnr"`
	SSIM float64 `json:"ssim"`
	NIQE float64 `json:"niqe,omitempty"`
}

// setResult is one folder's evaluation at one scale.
type setResult struct {
	Name    string           `json:"name"`
	Scale   int              `json:"scale"`
	Images  int              `json:"images"`
	Methods map[string]score `json:"methods"`
	JPEG    int              `json:"jpeg,omitempty"`  // the LR images' JPEG quality, if any
	Pairs   bool             `json:"pairs,omitempty"` // given LR/HR pairs, not shrunk here
}

// methodOrder is the order methods are printed in.
// "original" is the high-resolution image itself, scored by NIQE alone.
var methodOrder = []string{"nearest", "bilinear", "bicubic", "srcnn", "original"}

// evalOptions says what evalSet measures.
type evalOptions struct {
	scale    int
	model    *network.Model // nil: interpolations only
	denoise  *network.Model // the JPEG-aware network for hard JPEG inputs, if any (core.Networks)
	restore  *network.Model // the real-photo network, if any
	detailed bool           // model is the Detailed look's network (core.Networks.Detailed)
	est      *network.Model // the degradation estimator auto reads the pixels with, if any
	methods  []string       // subset of methodOrder
	ssim     bool
	niqe     bool // NIQE of every output, and of the original
	jpeg     int  // > 0: the LR image is saved as JPEG at this quality first

	strength float32 // the denoise strength when auto is false
	auto     bool    // the strength auto reads from the LR file: from -jpeg's quality, else 0
	pairs    bool    // the images are the HR halves of given pairs (see evalSet)
}

// givenPair reads the LR image of an HR image of a pair (same name in the
// sibling LR folder), and crops the HR planes to its size times the scale.
// It returns the LR file's JPEG quality (0: not a JPEG).
func givenPair(hrPath string, hr []imaging.Plane, scale int) (hrCrop, lr []imaging.Plane, quality int, err error) {
	lrPath := training.PairLR(hrPath)
	data, err := os.ReadFile(lrPath)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("its LR image: %v", err)
	}
	img, _, err := imaging.Decode(bytes.NewReader(data), 0)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %v", lrPath, err)
	}
	lr = training.ImagePlanes(img, len(hr))
	w, h := lr[0].W*scale, lr[0].H*scale
	if hr[0].W < w || hr[0].H < h {
		return nil, nil, 0, fmt.Errorf("%dx%d is smaller than its LR image (%dx%d) at x%d", hr[0].W, hr[0].H, lr[0].W, lr[0].H, scale)
	}
	for _, p := range hr {
		hrCrop = append(hrCrop, p.Crop(w, h))
	}
	quality, _ = imaging.JPEGQuality(data)
	return hrCrop, lr, quality, nil
}

// evalSet evaluates every image of a folder as the literature does: crop the
// high-resolution image to a multiple of the scale, shrink it with MATLAB's
// bicubic, enlarge it back with each method, round to 8-bit levels, and
// compare Y with `scale` pixels shaved from each border.
//
// A folder with LR/ and HR/ folders in it holds given pairs instead (real
// low- and high-resolution photos of one scene, with the same file names):
// the LR image is enlarged as it is and compared with its HR image, cropped
// to the LR size times the scale.
func evalSet(dir string, o evalOptions) (setResult, error) {
	pairs := training.IsPairs(dir)
	if pairs {
		if o.jpeg > 0 {
			return setResult{}, fmt.Errorf("%s holds given LR/HR pairs: -jpeg is for sets shrunk here", dir)
		}
		dir = filepath.Join(dir, "HR")
	}
	files, err := training.ListImages([]string{dir})
	if err != nil {
		return setResult{}, err
	}
	if len(files) == 0 {
		return setResult{}, fmt.Errorf("no images in %s", dir)
	}
	name := filepath.Base(filepath.Clean(dir))
	if pairs {
		name = filepath.Base(filepath.Dir(dir))
	}
	o.pairs = pairs
	res := setResult{Name: name, Scale: o.scale, Images: len(files), Methods: map[string]score{}, JPEG: o.jpeg, Pairs: pairs}
	niqeN := map[string]int{}
	for _, f := range files {
		scores, err := evalImage(f, o)
		if err != nil {
			return setResult{}, fmt.Errorf("%s: %v", f, err)
		}
		for m, s := range scores {
			acc := res.Methods[m]
			acc.PSNR += s.PSNR / float64(len(files))
			acc.SSIM += s.SSIM / float64(len(files))
			if !math.IsNaN(s.NIQE) {
				acc.NIQE += s.NIQE
				niqeN[m]++
			}
			res.Methods[m] = acc
		}
	}
	for m, acc := range res.Methods {
		if n := niqeN[m]; n > 0 {
			acc.NIQE /= float64(n)
		}
		res.Methods[m] = acc
	}
	return res, nil
}

func evalImage(path string, o evalOptions) (map[string]score, error) {
	channels := 1
	if o.model != nil {
		channels = o.model.Config.Channels
	}
	planes, err := training.LoadPlanes(path, channels)
	if err != nil {
		return nil, err
	}
	s := o.scale
	w, h := planes[0].W/s*s, planes[0].H/s*s
	if w < 2*s+1 || h < 2*s+1 {
		return nil, fmt.Errorf("%dx%d is too small to evaluate at x%d", planes[0].W, planes[0].H, s)
	}
	hr := make([]imaging.Plane, len(planes))
	lr := make([]imaging.Plane, len(planes))
	var fileQuality int // the LR file's JPEG quality, which auto reads
	if o.pairs {
		if hr, lr, fileQuality, err = givenPair(path, planes, s); err != nil {
			return nil, err
		}
		w, h = hr[0].W, hr[0].H
	} else {
		for c, p := range planes {
			hr[c] = p.Crop(w, h)
			lr[c] = imaging.Resize(hr[c], w/s, h/s, imaging.Bicubic)
		}
	}
	if o.jpeg > 0 {
		fileQuality = o.jpeg
		if lr, err = jpegLR(path, w, h, s, o.jpeg, channels); err != nil {
			return nil, err
		}
	}
	kernels := map[string]imaging.Kernel{"nearest": imaging.Nearest, "bilinear": imaging.Bilinear, "bicubic": imaging.Bicubic}
	out := map[string]score{}
	for _, m := range o.methods {
		var up []imaging.Plane
		if k, ok := kernels[m]; ok {
			for _, p := range lr {
				up = append(up, imaging.Resize(p, w, h, k))
			}
		} else if m == "srcnn" && o.model != nil {
			nets := core.Networks{Clean: o.model, Denoise: o.denoise, Restore: o.restore, Detailed: o.detailed}
			r := core.Chosen(fileQuality, o.strength)
			if o.auto { // as train upscale reads a file, on the LR image as the file would hold it
				r = nets.ReadPlane(fileQuality, imaging.Luma8(lr), o.est, s)
			}
			net, strength := nets.For(r)
			e := core.NewEnhancer(net, s)
			e.Strength = strength
			up, err = e.Planes(context.Background(), lr, 0, nil)
			if err != nil {
				return nil, err
			}
		} else {
			continue
		}
		got, want := imaging.Luma8(up), imaging.Luma8(hr)
		var sc score
		if sc.PSNR, err = metrics.PSNR(want, got, s); err != nil {
			return nil, err
		}
		if o.ssim {
			if sc.SSIM, err = metrics.SSIM(want, got, s); err != nil {
				return nil, err
			}
		}
		sc.NIQE = niqeOf(got, o.niqe)
		out[m] = sc
	}
	if o.niqe {
		out["original"] = score{NIQE: niqeOf(imaging.Luma8(hr), true)}
	}
	return out, nil
}

// niqeOf is a plane's NIQE if asked for, NaN where NIQE is not defined
// (an image smaller than two 96x96 blocks, or a flat one), else 0.
func niqeOf(y imaging.Plane, asked bool) float64 {
	if !asked {
		return 0
	}
	v, err := metrics.NIQE(y)
	if err != nil {
		return math.NaN()
	}
	return v
}

// jpegLR makes the low-resolution image as a JPEG on the web would be:
// the high-resolution crop shrunk in RGB, rounded to 8 bits, saved as a
// JPEG at quality (4:2:0, as Go's encoder writes colour) and decoded; it
// returns the planes the model works on (Y, or R, G, B).
func jpegLR(path string, w, h, scale, quality, channels int) ([]imaging.Plane, error) {
	rgb, err := training.LoadPlanes(path, 3)
	if err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, w/scale, h/scale))
	for c, p := range rgb {
		small := imaging.Resize(p.Crop(w, h), w/scale, h/scale, imaging.Bicubic)
		for i, v := range small.Pix {
			img.Pix[4*i+c] = uint8(imaging.Round8(v))
		}
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, err
	}
	return training.ImagePlanes(dec, channels), nil
}

// modelChoice is the -scale, -model and -weights flags that eval and
// upscale share.
type modelChoice struct {
	scale          *int
	model          *string
	weights        *string
	denoiseWeights *string
	restoreWeights *string
	estimator      *string
	look           *string
}

func addModelFlags(fs *flag.FlagSet) modelChoice {
	return modelChoice{
		scale:     fs.Int("scale", 2, "upscaling factor: 2, 3 or 4"),
		model:     fs.String("model", "general", "shipped model to use when -weights is not given: general or portrait"),
		look:      fs.String("look", "faithful", "with the shipped weights: faithful (trained for fidelity) or detailed (adversarially trained: invents fine texture such as hair and skin, and at x4 lifts local contrast with a faint unsharp mask; a hard JPEG still gets the JPEG-aware network, and blurred or noisy pixels the real-photo network unless the Detailed network restores them itself)"),
		weights:   fs.String("weights", "", "weights file (default weights/<model>-x<scale>.gob)"),
		estimator: fs.String("estimator-weights", "", "degradation estimator weights (an estimator-* preset) that -denoise auto reads how degraded each image's pixels look with (default: the shipped one; none: read only the file)"),
		restoreWeights: fs.String("restore-weights", "", "real-photo weights file, run instead of -weights where restoration is for blur and noise "+
			"(default, without -weights: the shipped weights/<model>-x<scale>-restore.gob, or general's, where it ships)"),
		denoiseWeights: fs.String("denoise-weights", "", "JPEG-aware weights file, run instead of -weights at denoise strengths above 0 "+
			"(default, without -weights: the shipped weights/<model>-x<scale>-denoise.gob, or general's for a model without one, where it ships)"),
	}
}

// check validates the flags.
func (c modelChoice) check() error {
	if s := *c.scale; s < 2 || s > 4 {
		return usagef("-scale %d: want 2, 3 or 4", s)
	}
	if m := *c.model; m != "general" && m != "portrait" {
		return usagef("-model %q: want general or portrait", m)
	}
	if !slices.Contains(weights.Looks, *c.look) {
		return usagef("-look %q: want %s", *c.look, strings.Join(weights.Looks, " or "))
	}
	return nil
}

// source names the weights chosen: the -weights file, or the shipped
// model embedded in this program.
func (c modelChoice) source() string {
	if *c.weights != "" {
		return *c.weights
	}
	if c.detailed() {
		return "the shipped " + weights.DetailedFileName(*c.model, *c.scale)
	}
	return "the shipped " + weights.FileName(*c.model, *c.scale)
}

// detailed reports whether the shipped Detailed look is chosen.
func (c modelChoice) detailed() bool { return *c.look == "detailed" && *c.weights == "" }

// load reads the chosen weights (the -weights file, or the shipped ones
// embedded in the program) and checks that they were trained for the
// chosen scale.
func (c modelChoice) load() (*network.Model, error) {
	var m *network.Model
	var wf *network.WeightsFile
	var err error
	if *c.weights != "" {
		m, wf, err = network.LoadWeightsFile(*c.weights)
	} else {
		var data []byte
		if c.detailed() {
			data, _, err = weights.ReadDetailed(*c.model, *c.scale)
		} else {
			data, err = weights.Read(*c.model, *c.scale)
		}
		if err != nil {
			return nil, errNoShippedModel{err}
		}
		m, wf, err = network.LoadWeights(bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	if wf.Scale != *c.scale {
		return nil, fmt.Errorf("%s was trained for x%d, not x%d", c.source(), wf.Scale, *c.scale)
	}
	return m, nil
}

// loadDenoise reads the JPEG-aware weights that take over at strengths
// above 0 on hard JPEGs: the -denoise-weights file, or without -weights the
// shipped ones where they ship; nil if there are none.
func (c modelChoice) loadDenoise() (*network.Model, error) {
	return c.loadCompanion(*c.denoiseWeights, weights.ReadDenoise, "the JPEG-aware network")
}

// loadRestore reads the real-photo weights that take over at strengths
// above 0 on blurred and noisy pixels: the -restore-weights file, or
// without -weights the shipped ones where they ship; nil if there are none.
// At the Detailed look they restore only for a Detailed network without
// a strength input (core.Networks.Restorer).
func (c modelChoice) loadRestore() (*network.Model, error) {
	return c.loadCompanion(*c.restoreWeights, weights.ReadRestore, "the real-photo network")
}

// loadCompanion reads a network that reads a strength and takes over from
// the clean one: the file given, or without -weights the shipped one read
// by shipped where it ships, at either look; nil otherwise.
func (c modelChoice) loadCompanion(file string, shipped func(string, int) ([]byte, string, error), role string) (*network.Model, error) {
	var m *network.Model
	var wf *network.WeightsFile
	var err error
	name := file
	switch {
	case name != "":
		m, wf, err = network.LoadWeightsFile(name)
	case *c.weights != "":
		return nil, nil
	default:
		data, f, rerr := shipped(*c.model, *c.scale)
		name = "the shipped " + f
		if errors.Is(rerr, fs.ErrNotExist) {
			return nil, nil
		}
		if rerr != nil {
			return nil, rerr
		}
		m, wf, err = network.LoadWeights(bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	if wf.Scale != *c.scale {
		return nil, fmt.Errorf("%s was trained for x%d, not x%d", name, wf.Scale, *c.scale)
	}
	if !m.Config.Strength {
		return nil, fmt.Errorf("%s has no strength input: it cannot be %s", name, role)
	}
	return m, nil
}

// loadEstimator reads the -estimator-weights file, or the shipped
// estimator; nil for "none".
func (c modelChoice) loadEstimator() (*network.Model, error) {
	var m *network.Model
	var err error
	switch *c.estimator {
	case "none":
		return nil, nil
	case "":
		var data []byte
		if data, err = fs.ReadFile(weights.FS, weights.Estimator); err == nil {
			m, _, err = network.LoadWeights(bytes.NewReader(data))
		}
	default:
		m, _, err = network.LoadWeightsFile(*c.estimator)
	}
	if err != nil {
		return nil, err
	}
	if !m.Config.Estimator {
		return nil, fmt.Errorf("%s holds a %s network, not a degradation estimator", *c.estimator, m.Config.Preset)
	}
	return m, nil
}

// errNoShippedModel is the error for a model and scale that do not ship.
type errNoShippedModel struct{ error }

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "[-scale N] [-model general|portrait] [-weights FILE] [-json] DIR...", stderr)
	choice := addModelFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	jpegQ := fs.Int("jpeg", 0, "save each low-resolution image as JPEG at this quality (1-100) before any method enlarges it (0: no)")
	denoise := fs.String("denoise", "auto", "denoise strength for the network: auto (from -jpeg's quality, none without it), none, low, medium, high or a number from 0 to 1")
	niqe := fs.Bool("niqe", true, "score every output and the original with NIQE too (no reference, lower is more natural; BasicSR's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	strength, auto, err := core.ParseDenoise(*denoise)
	if err != nil {
		return usagef("-denoise: %v", err)
	}
	if err := choice.check(); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one folder of images")
	}
	if *jpegQ < 0 || *jpegQ > 100 {
		return usagef("-jpeg %d: want a quality from 1 to 100, or 0 for none", *jpegQ)
	}
	m, err := choice.load()
	if err != nil {
		if !errors.As(err, new(errNoShippedModel)) {
			return err
		}
		fmt.Fprintf(stderr, "train eval: %v; reporting interpolations only\n", err)
		m = nil
	}
	o := evalOptions{scale: *choice.scale, model: m, methods: methodOrder, ssim: true, niqe: *niqe, jpeg: *jpegQ, strength: strength, auto: auto, detailed: choice.detailed()}
	if m != nil {
		if o.denoise, err = choice.loadDenoise(); err != nil {
			return err
		}
		if o.restore, err = choice.loadRestore(); err != nil {
			return err
		}
		if o.est, err = choice.loadEstimator(); err != nil {
			return err
		}
	}
	var sets []setResult
	for _, dir := range fs.Args() {
		r, err := evalSet(dir, o)
		if err != nil {
			return err
		}
		sets = append(sets, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"sets": sets})
	}
	for _, r := range sets {
		lrAs := ""
		if r.JPEG > 0 {
			lrAs = fmt.Sprintf(", LR saved as JPEG q%d", r.JPEG)
		}
		if r.Pairs {
			lrAs = ", given LR/HR pairs"
		}
		fmt.Fprintf(stdout, "%s x%d (%d images%s)\n  %-9s %8s %8s", r.Name, r.Scale, r.Images, lrAs, "method", "PSNR-Y", "SSIM-Y")
		if *niqe {
			fmt.Fprintf(stdout, " %8s", "NIQE")
		}
		fmt.Fprintln(stdout)
		for _, name := range methodOrder {
			s, ok := r.Methods[name]
			switch {
			case !ok:
				continue
			case name == "original":
				fmt.Fprintf(stdout, "  %-9s %8s %8s", name, "-", "-")
			default:
				fmt.Fprintf(stdout, "  %-9s %8.2f %8.4f", name, s.PSNR, s.SSIM)
			}
			if *niqe {
				fmt.Fprintf(stdout, " %8.3f", s.NIQE)
			}
			fmt.Fprintln(stdout)
		}
	}
	return nil
}
