package core

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

// StrengthForQuality is the denoise strength that training pairs with a
// JPEG quality, and that automatic denoising picks: 0 at quality 100, 1
// at 30 and below, linear between (quality 90: 0.14, 70: 0.43, 50: 0.71).
func StrengthForQuality(q int) float32 {
	return float32(min(1, max(0, float64(100-q)/70)))
}

// DenoiseLevels are the named denoise strengths, in order.
var DenoiseLevels = []struct {
	Name     string
	Strength float32
}{{"none", 0}, {"low", 0.2}, {"medium", 0.5}, {"high", 0.8}}

// DenoiseName is the name of the level nearest to a strength; only 0 is
// "none" (a q95 JPEG's 0.07 is denoised, gently: "low").
func DenoiseName(s float32) string {
	if s <= 0 {
		return DenoiseLevels[0].Name
	}
	best := DenoiseLevels[1]
	for _, l := range DenoiseLevels[2:] {
		if abs32(l.Strength-s) < abs32(best.Strength-s) {
			best = l
		}
	}
	return best.Name
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// AutoStrength is the denoise strength automatic denoising picks for an
// input file: from a JPEG's quality (also returned), 0 for everything
// else (PNG, BMP, GIF, TIFF and WebP are taken as free of JPEG artifacts).
func AutoStrength(file []byte) (strength float32, quality int) {
	q, ok := imaging.JPEGQuality(file)
	if !ok {
		return 0, 0
	}
	return StrengthForQuality(q), q
}

// DegradedFrom is the estimate from which an image's pixels read as
// degraded (blurred, noisy, resized) when enlarged by scale: 0.5 at x3 and
// x4, where clean bicubic shrinks of Set5, Set14 and val/Faces read
// 0.00-0.49 and 34 of DRealSR's 40 camera photos 0.51-1.00; 0.65 at x2,
// where a shrink by 2 keeps a soft original's softness (Set5's baby reads
// 0.61, Set14's monarch and zebra 0.53 and 0.51) and restoring it costs
// those benchmarks 0.6-0.9 dB; 28 of the camera photos still read over it.
func DegradedFrom(scale int) float32 {
	if scale <= 2 {
		return 0.65
	}
	return 0.5
}

// JPEGLift is how much of a JPEG's quality strength (StrengthForQuality)
// the degradation threshold rises by for that file: the estimator learnt
// compression as part of the severity, so a light JPEG's blocks lift a
// soft original's reading over DegradedFrom (Set14's monarch shrunk by 2:
// 0.57 as PNG, 0.70 at q90), and the real-photo network then costs a
// benchmark 0.16-0.35 dB that the JPEG-aware one keeps. Measured between 0
// and 1: from 0.5 every Set5 and Set14 q90 shrink keeps the JPEG-aware
// network; a blurred q85 portrait shrunk by 4 restores less the higher
// it is (val/Faces so made, Auto with portrait-x4-restore: 30.35 dB at
// 0, 30.23 at 0.5, 30.06 at 1).
const JPEGLift = 0.5

// RestoreStrength is the strength automatic restoration gives pixels that
// read as degraded: the best single strength on DRealSR's camera photos
// (the estimate itself does not predict a photo's best strength).
const RestoreStrength = 0.5

// DetailedRestoreStrength is the strength automatic restoration gives
// pixels that read as degraded where the Detailed look's network restores
// them itself (Networks.ReadImage): it goes further than the faithful look.
// On DRealSR's camera photos general-x4-detailed at 0.5, 0.7, 0.9 and 1.0
// gives NIQE 9.83, 9.47, 9.19, 9.26 at PSNR-Y 30.47, 30.48, 30.41, 30.39
// (no halo added by eye at 3x zoom).
const DetailedRestoreStrength = 0.9

// HardJPEGFrom is the JPEG strength from which a file's compression, not
// its camera, is what restoration removes: quality 82 and below, whose
// blocks the JPEG-aware network removes better than the real-photo one
// (Set14 x4 at q50: 25.59 dB against 24.8-25.1 at any strength).
const HardJPEGFrom = 0.25

// Reading is what restoration reads from an input: the JPEG quality of
// its file, how degraded its pixels look, and so the strength and the
// network that restore it.
type Reading struct {
	Quality  int     // the file's JPEG quality, 0 if it is not a JPEG
	Looks    float32 // the estimator's reading of the pixels (EstimateStrength); 0 without one
	Strength float32 // the strength restoration runs at
	Restore  bool    // the real-photo network runs (blur and noise), not the JPEG-aware one (compression)
	Degraded bool    // the pixels read as degraded (from DegradedFrom at the scale, raised for a JPEG by JPEGLift)
}

// Read is automatic restoration's reading of an input to enlarge by
// scale: its file (for the JPEG quality) and, with an estimator, its
// decoded image. est may be nil.
func Read(file []byte, img image.Image, est *network.Model, scale int) Reading {
	q, _ := imaging.JPEGQuality(file)
	return ReadImage(q, img, est, scale)
}

// ReadImage is Read for a file of JPEG quality q (0: not a JPEG) decoded
// as img; the estimator (if any) reads only its patches of the image.
func ReadImage(q int, img image.Image, est *network.Model, scale int) Reading {
	if est == nil {
		return readLooks(q, 0, scale)
	}
	return readLooks(q, EstimateImage(est, img), scale)
}

// ReadPlane is ReadImage for an image given as its Y plane (LumaY's).
func ReadPlane(q int, y imaging.Plane, est *network.Model, scale int) Reading {
	if est == nil {
		return readLooks(q, 0, scale)
	}
	return readLooks(q, EstimateStrength(est, y), scale)
}

// readLooks is the reading of a file of JPEG quality q whose pixels the
// estimator read as looks (0 if unread), to enlarge by scale: a hard JPEG
// gets the JPEG-aware network at its quality's strength; otherwise pixels
// that look degraded get the real-photo network at RestoreStrength, and
// clean ones the file's (small or zero) JPEG strength. A JPEG's pixels
// read as degraded from DegradedFrom plus JPEGLift times its quality's
// strength.
func readLooks(q int, looks float32, scale int) Reading {
	r := Reading{Quality: q, Looks: looks}
	if q > 0 {
		r.Strength = StrengthForQuality(q)
	}
	r.Degraded = looks >= DegradedFrom(scale)+JPEGLift*r.Strength
	if r.Degraded && r.Strength < HardJPEGFrom {
		r.Strength, r.Restore = RestoreStrength, true
	}
	return r
}

// Chosen is restoration at a strength chosen by hand, for a file of JPEG
// quality q (0: not a JPEG): the JPEG-aware network for a hard JPEG, the
// real-photo one for anything else.
func Chosen(q int, strength float32) Reading {
	r := Reading{Quality: q, Strength: strength}
	r.Restore = strength > 0 && (q == 0 || StrengthForQuality(q) < HardJPEGFrom)
	return r
}

// String says what was read: "JPEG quality about 62: restore 0.54
// (medium) for JPEG artifacts", "looks degraded (0.71): restore 0.50
// (medium) for blur and noise".
func (r Reading) String() string {
	var parts []string
	if r.Quality > 0 {
		parts = append(parts, fmt.Sprintf("JPEG quality about %d", r.Quality))
	}
	switch {
	case r.Degraded:
		parts = append(parts, fmt.Sprintf("looks degraded (%.2f)", r.Looks))
	case r.Looks > 0:
		parts = append(parts, fmt.Sprintf("looks clean (%.2f)", r.Looks))
	}
	if len(parts) == 0 {
		parts = append(parts, "no JPEG, pixels not read")
	}
	what := ""
	switch {
	case r.Strength > 0 && r.Restore:
		what = " for blur and noise"
	case r.Strength > 0:
		what = " for JPEG artifacts"
	}
	return fmt.Sprintf("%s: restore %.2f (%s)%s", strings.Join(parts, ", "), r.Strength, DenoiseName(r.Strength), what)
}

// Networks are a model's networks at a scale that restoration picks
// among: the clean one, the JPEG-aware one and the real-photo one (either
// of the last two may be nil).
type Networks struct {
	Clean, Denoise, Restore *network.Model
	// Detailed says Clean is a Detailed-look network: the JPEG-aware one
	// then takes only hard JPEGs (from HardJPEGFrom), whose blocks the
	// Detailed networks, not trained on compression, would sharpen.
	Detailed bool
}

// Restorer is the network that restores blur and noise: a clean one that
// reads a strength itself (a Detailed-look network trained on real-photo
// degradations) at the Detailed look or where there is no real-photo
// one, else the real-photo one; nil if there is none. A Detailed network
// without a strength input hands degraded pixels to the real-photo
// network. Automatic restoration reads the pixels only where there is one.
func (n Networks) Restorer() *network.Model {
	if n.Clean != nil && n.Clean.Config.Strength && (n.Detailed || n.Restore == nil) {
		return n.Clean
	}
	return n.Restore
}

// restoresItself reports whether the clean network is the restorer.
func (n Networks) restoresItself() bool { return n.Clean != nil && n.Restorer() == n.Clean }

// ReadImage is automatic restoration's reading (the function ReadImage)
// for these networks: the estimator reads the pixels only where one of
// them restores blur and noise (Restorer), and pixels read as degraded
// that a Detailed network restores itself get DetailedRestoreStrength.
func (n Networks) ReadImage(q int, img image.Image, est *network.Model, scale int) Reading {
	return n.atLook(ReadImage(q, img, n.reader(est), scale))
}

// ReadPlane is Networks.ReadImage for an image given as its Y plane.
func (n Networks) ReadPlane(q int, y imaging.Plane, est *network.Model, scale int) Reading {
	return n.atLook(ReadPlane(q, y, n.reader(est), scale))
}

// reader is the estimator where a network here restores what it reads,
// else nil.
func (n Networks) reader(est *network.Model) *network.Model {
	if n.Restorer() == nil {
		return nil
	}
	return est
}

// atLook is the reading r as these networks act on it: at the Detailed
// look, pixels read as degraded that the Detailed network restores itself
// get DetailedRestoreStrength instead of RestoreStrength. Any other
// reading (a level chosen by hand, a JPEG's strength) is left as it is.
func (n Networks) atLook(r Reading) Reading {
	if n.Detailed && r.Degraded && r.Restore && n.restoresItself() {
		r.Strength = DetailedRestoreStrength
	}
	return r
}

// For returns the network that restores what r read, and the strength to
// give it (0 for a network without a strength input): above strength 0 the
// restorer where r asks for it and there is one, else the JPEG-aware one
// where one ships (at the Detailed look only for a hard JPEG), else the
// clean one.
func (n Networks) For(r Reading) (*network.Model, float32) {
	m := n.Clean
	switch {
	case r.Strength <= 0:
	case r.Restore && n.Restorer() != nil:
		m = n.Restorer()
	case n.Denoise != nil && (!n.Detailed || !r.Restore && r.Strength >= HardJPEGFrom):
		m = n.Denoise
	}
	if !m.Config.Strength {
		return m, 0
	}
	return m, r.Strength
}

// ParseDenoise reads a denoise setting as the command line and the page
// name it: "auto" (auto is true: the strength comes from each file, see
// AutoStrength), a level's name, or a strength from 0 to 1.
func ParseDenoise(v string) (strength float32, auto bool, err error) {
	if v == "auto" {
		return 0, true, nil
	}
	for _, l := range DenoiseLevels {
		if v == l.Name {
			return l.Strength, false, nil
		}
	}
	f, err := strconv.ParseFloat(v, 32)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, false, fmt.Errorf("denoise %q: want auto, none, low, medium, high or a strength from 0 to 1", v)
	}
	return float32(f), false, nil
}

// The estimator reads patches of estimatePatch x estimatePatch pixels on an
// even grid of k x k, k from estimateGridMin to estimateGridMax so that the
// patches hold about a sixteenth of the image (on small images the 2 x 2
// grid holds more): natively 2.5% of a 1024-px x2 upscale's time, 5.7% at
// 512 px x2, about 6 ms (8-11%) at 256 px x4.
const (
	estimatePatch   = 48
	estimateShare   = 16
	estimateGridMin = 2
	estimateGridMax = 8
)

// EstimateStrength reads how degraded an image looks (blurred, noisy,
// blocky: the severity the real-photo networks were trained with, 0 to 1)
// from its Y plane with an estimator network (Config.Estimator): its value
// at every pixel of patches spread over the image, pooled by the softmax of
// its weight there (network.SoftmaxMean), clamped to 0..1. An empty plane
// reads as 0.
func EstimateStrength(est *network.Model, y imaging.Plane) float32 {
	return estimate(est, y.W, y.H, func(r image.Rectangle, x []float32) {
		for row := range r.Dy() {
			copy(x[row*r.Dx():][:r.Dx()], y.Pix[(r.Min.Y+row)*y.W+r.Min.X:][:r.Dx()])
		}
	})
}

// EstimateImage is EstimateStrength of an image's Y (imaging.LumaY),
// converting only the patches it reads.
func EstimateImage(est *network.Model, img image.Image) float32 {
	b := img.Bounds()
	return estimate(est, b.Dx(), b.Dy(), func(r image.Rectangle, x []float32) {
		copy(x, imaging.LumaYIn(img, r.Add(b.Min)).Pix)
	})
}

// estimate runs the estimator on the patches of a w x h image, which read
// fills in (patch r, into x, row by row).
func estimate(est *network.Model, w, h int, read func(r image.Rectangle, x []float32)) float32 {
	if w < 1 || h < 1 {
		return 0
	}
	pw, ph := min(estimatePatch, w), min(estimatePatch, h)
	k := int(math.Round(math.Sqrt(float64(w*h) / estimateShare / (estimatePatch * estimatePatch))))
	k = min(estimateGridMax, max(estimateGridMin, k))
	nx, ny := min(k, w/pw), min(k, h/ph)
	var v, wt []float32
	x := make([]float32, pw*ph)
	f := network.NewInferer(est) // one set of buffers for every patch
	whole := network.Edges{Left: true, Top: true, Right: true, Bottom: true}
	for j := range ny {
		for i := range nx {
			// Patch (i, j) of an even grid, the outer ones at the edges.
			x0, y0 := spread(i, nx, w-pw), spread(j, ny, h-ph)
			read(image.Rect(x0, y0, x0+pw, y0+ph), x)
			out := f.Run(x, ph, pw, whole).Crop(image.Rect(0, 0, pw, ph)) // values, weights
			v, wt = append(v, out[0].Pix...), append(wt, out[1].Pix...)
		}
	}
	s := network.SoftmaxMean(v, wt, make([]float64, len(v)))
	return float32(min(1, max(0, s)))
}

// spread places item i of n evenly from 0 to last.
func spread(i, n, last int) int {
	if n < 2 {
		return last / 2
	}
	return i * last / (n - 1)
}
