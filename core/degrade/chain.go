package degrade

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// Chain is one drawn degradation: its stages in order, and the seed its
// noise draws from, so that applying it twice gives the same pixels.
type Chain struct {
	Severity float32
	Ops      []Op
	Seed     uint64
}

// Apply runs the chain on a high-resolution crop (R, G, B) and returns the
// low-resolution planes.
func (c Chain) Apply(rgb []imaging.Plane) []imaging.Plane {
	rng := rand.New(rand.NewPCG(c.Seed, 0xde9ade))
	for _, op := range c.Ops {
		rgb = op.Apply(rgb, rng)
	}
	return rgb
}

func (c Chain) String() string {
	s := make([]string, len(c.Ops))
	for i, op := range c.Ops {
		s[i] = op.String()
	}
	return strings.Join(s, ", ")
}

// Clean is the chain of severity 0: MATLAB's bicubic shrink to w x h, as
// the literature's benchmarks make their inputs.
func Clean(w, h int) Chain {
	return Chain{Ops: []Op{Resize{w, h, imaging.Bicubic}}}
}

// Ranges are a degradation model's ranges at severity 1 and how often its
// optional stages happen. A stage's magnitude u is the severity times a
// factor drawn from 0.6 to 1 for each stage, so that the severity says how
// degraded an image is whichever stages it went through. Blur is given in
// low-resolution pixels, noise on the 0..1 scale.
type Ranges struct {
	Name                   string
	BlurSigma1, BlurSigma2 float64 // the rounds' largest blur (standard deviation, LR pixels)
	Shrink1, Shrink2       float64 // the rounds' largest extra shrink (a factor of 1 - this)
	Grow1, Grow2           float64 // and enlargement (1 + this)
	Noise1, Noise2         float64 // the rounds' largest Gaussian noise
	Poisson1, Poisson2     float64 // and Poisson noise's scale
	NoiseP1, NoiseP2       float64 // how often each round adds noise
	JPEGP1, JPEGFinal      float64 // how often the first round and the last step compress
	SharpenP, Sharpen      float64 // how often the last step sharpens, and its largest amount
}

// Models are the degradation models by name. "" is the default, after
// Real-ESRGAN's (its first blur reaches 1 LR pixel, 4 HR pixels at x4, a
// little past Real-ESRGAN's first round, so that a camera's blur, 0.5-0.6
// LR pixels on DRealSR, sits inside the range). "camera" keeps its blur and
// resizing with a third of its noise and less JPEG: photos from a camera,
// blurred by lens and sensor and resized, rather than web images.
var Models = map[string]Ranges{
	"": {BlurSigma1: 1.0, BlurSigma2: 0.3, Shrink1: 0.5, Shrink2: 0.25, Grow1: 0.3, Grow2: 0.15,
		Noise1: 20.0 / 255, Noise2: 10.0 / 255, Poisson1: 2.5, Poisson2: 1.5, NoiseP1: 0.5, NoiseP2: 0.4, JPEGP1: 0.4, JPEGFinal: 0.6},
	// "noisy" is the default with noise in nearly every chain: for the
	// degradation estimator, which otherwise sees noise mostly under blur
	// and learns to read its grain as sharpness (the default model's
	// estimator read Set14 with grey noise of 20/255 as cleaner than
	// without).
	"noisy": {Name: "noisy", BlurSigma1: 1.0, BlurSigma2: 0.3, Shrink1: 0.5, Shrink2: 0.25, Grow1: 0.3, Grow2: 0.15,
		Noise1: 20.0 / 255, Noise2: 10.0 / 255, Poisson1: 2.5, Poisson2: 1.5, NoiseP1: 0.9, NoiseP2: 0.6, JPEGP1: 0.4, JPEGFinal: 0.6},
	"camera": {Name: "camera", BlurSigma1: 1.0, BlurSigma2: 0.3, Shrink1: 0.5, Shrink2: 0.25, Grow1: 0.3, Grow2: 0.15,
		Noise1: 7.0 / 255, Noise2: 3.0 / 255, Poisson1: 0.8, Poisson2: 0.5, NoiseP1: 0.5, NoiseP2: 0.4, JPEGP1: 0.2, JPEGFinal: 0.3},
	// "lens" is camera with half as much blur again at the same severity:
	// at severity 0.5 a first blur of 0.45-0.75 LR pixels, DRealSR's
	// cameras' (0.5-0.6), so that a network given the strength Auto gives
	// degraded pixels (core.RestoreStrength) undoes a camera's blur; for
	// the Detailed look, which sharpens as far as looks natural.
	"lens": {Name: "lens", BlurSigma1: 1.5, BlurSigma2: 0.45, Shrink1: 0.5, Shrink2: 0.25, Grow1: 0.3, Grow2: 0.15,
		Noise1: 7.0 / 255, Noise2: 3.0 / 255, Poisson1: 0.8, Poisson2: 0.5, NoiseP1: 0.5, NoiseP2: 0.4, JPEGP1: 0.2, JPEGFinal: 0.3},
	// "sharpened" is lens with a camera's unsharp mask at the low
	// resolution in 7 chains of 10 (radius 0.7-2 LR pixels, amount up to
	// 3 at severity 1): fitting each DRealSR LR photo from its HR photo
	// blurred, shrunk and sharpened matches it 0.9 dB better than blur
	// alone (mean 37.17 against 36.30 dB, a gain/offset fit each), best at
	// a blur of 1 LR pixel and amounts of 0.5-3 for 34 of 40; a network
	// that has not seen the halos sharpening leaves amplifies them.
	"sharpened": {Name: "sharpened", BlurSigma1: 1.5, BlurSigma2: 0.45, Shrink1: 0.5, Shrink2: 0.25, Grow1: 0.3, Grow2: 0.15,
		Noise1: 7.0 / 255, Noise2: 3.0 / 255, Poisson1: 0.8, Poisson2: 0.5, NoiseP1: 0.5, NoiseP2: 0.4, JPEGP1: 0.2, JPEGFinal: 0.3,
		SharpenP: 0.7, Sharpen: 3},
}

const (
	qualityAt1 = 30 // JPEG quality at u = 1 (100 at u = 0, linear: core.StrengthForQuality's map)
	maxKernel  = 21
)

// Draw draws a chain of the default model (Models[""]); see Ranges.Draw.
func Draw(rng *rand.Rand, severity float32, scale, w, h int) Chain {
	return Models[""].Draw(rng, severity, scale, w, h)
}

// Draw draws a degradation chain of the given severity (0 to 1) that turns
// a w x h crop into a w/scale x h/scale image: a first round (blur, resize,
// noise, JPEG), a second milder round for some (more often the more
// severe), then the final resize to the low-resolution size (sharpened
// after it in models that sharpen) with a sinc filter and JPEG in random
// order, and 8-bit rounding. Each stage is present with a probability;
// severity 0 gives Clean.
func (g Ranges) Draw(rng *rand.Rand, severity float32, scale, w, h int) Chain {
	lw, lh := w/scale, h/scale
	if severity <= 0 {
		return Clean(lw, lh)
	}
	s := float64(min(severity, 1))
	c := Chain{Severity: severity, Seed: rng.Uint64()}
	u := func() float64 { return s * (0.6 + 0.4*rng.Float64()) }
	add := func(op Op) { c.Ops = append(c.Ops, op) }
	cw, ch := w, h // the current size
	resize := func(shrink, grow float64) {
		f := drawFactor(rng, u(), shrink, grow)
		cw, ch = max(lw, int(math.Round(float64(cw)*f))), max(lh, int(math.Round(float64(ch)*f)))
		add(Resize{cw, ch, drawResizeKernel(rng)})
	}

	// First round, at the high resolution.
	if rng.Float64() < 0.9 {
		add(drawBlur(rng, u()*g.BlurSigma1*float64(scale)))
	}
	if rng.Float64() < 0.6 {
		resize(g.Shrink1, g.Grow1)
	}
	if rng.Float64() < g.NoiseP1 {
		add(drawNoise(rng, u(), g.Noise1, g.Poisson1))
	}
	if rng.Float64() < g.JPEGP1 {
		add(drawJPEG(rng, u()))
	}
	// Second round, for some.
	if rng.Float64() < 0.6*s {
		if rng.Float64() < 0.7 {
			add(drawBlur(rng, u()*g.BlurSigma2*float64(scale)*float64(cw)/float64(w)))
		}
		if rng.Float64() < 0.5 {
			resize(g.Shrink2, g.Grow2)
		}
		if rng.Float64() < g.NoiseP2 {
			add(drawNoise(rng, u(), g.Noise2, g.Poisson2))
		}
	}
	// The final resize, with the sinc filter and JPEG in either order.
	final := []Op{Resize{lw, lh, drawResizeKernel(rng)}}
	if g.SharpenP > 0 && rng.Float64() < g.SharpenP { // drawn only here: other models' chains stay as they were
		r := 0.7 + 1.3*rng.Float64()
		final = append(final, UnsharpMask(r, u()*g.Sharpen))
	}
	if rng.Float64() < 0.2*s {
		final = append(final, Blur{Sinc(drawSize(rng, 7), math.Pi*(1-0.6*u()))})
	}
	if rng.Float64() < g.JPEGFinal {
		j := drawJPEG(rng, u())
		if rng.Float64() < 0.5 {
			final = append(final, j)
		} else {
			final = append([]Op{j}, final...)
		}
	}
	for _, op := range final {
		add(op)
	}
	add(Quantize{})
	return c
}

// drawFactor draws a resize factor: a shrink to 1 - u*shrink up to 1 for
// 70%, an enlargement up to 1 + u*grow for the others.
func drawFactor(rng *rand.Rand, u, shrink, grow float64) float64 {
	if rng.Float64() < 0.7 {
		return 1 - u*shrink*rng.Float64()
	}
	return 1 + u*grow*rng.Float64()
}

// drawResizeKernel picks area, bilinear or bicubic resampling.
func drawResizeKernel(rng *rand.Rand) imaging.Kernel {
	return [...]imaging.Kernel{Area, imaging.Bilinear, imaging.Bicubic, imaging.Bicubic}[rng.IntN(4)]
}

// drawSize draws an odd kernel size from at least lo to maxKernel.
func drawSize(rng *rand.Rand, lo int) int {
	lo |= 1
	return lo + 2*rng.IntN((maxKernel-lo)/2+1)
}

// drawBlur draws a blur kernel whose largest standard deviation is sigma
// (pixels of the image it blurs): an isotropic or anisotropic Gaussian,
// a generalized Gaussian or a plateau, or now and then a sinc.
func drawBlur(rng *rand.Rand, sigma float64) Blur {
	sigma = max(sigma, 0.2)
	size := min(maxKernel, max(7, 2*int(math.Ceil(3*sigma))+1))
	sy, theta := sigma, 0.0
	kind := rng.Float64()
	if kind >= 0.4 && kind < 0.9 { // anisotropic
		sy, theta = sigma*(0.3+0.7*rng.Float64()), math.Pi*rng.Float64()
	}
	switch {
	case kind < 0.7:
		return Blur{Gaussian(size, sigma, sy, theta)}
	case kind < 0.8:
		return Blur{GeneralizedGaussian(size, sigma, sy, theta, 0.5+3.5*rng.Float64())}
	case kind < 0.9:
		return Blur{Plateau(size, sigma, sy, theta, 1+rng.Float64())}
	}
	// A sinc whose cutoff blurs about as much: a Gaussian of standard
	// deviation σ passes frequencies up to about 1/σ.
	return Blur{Sinc(drawSize(rng, 7), math.Min(math.Pi, 1.5/sigma))}
}

// drawNoise draws Gaussian noise (60%) or Poisson noise, in colour or grey
// (40%), at magnitude u.
func drawNoise(rng *rand.Rand, u, gaussian, poissonScale float64) Noise {
	gray := rng.Float64() < 0.4
	if rng.Float64() < 0.6 {
		return Noise{Sigma: u * gaussian, Gray: gray}
	}
	return Noise{Sigma: u * poissonScale, Poisson: true, Gray: gray}
}

// drawJPEG draws a JPEG stage at magnitude u: quality 100 - 70u, as
// core.StrengthForQuality pairs them, at a random grid offset.
func drawJPEG(rng *rand.Rand, u float64) JPEG {
	q := int(math.Round(100 - (100-qualityAt1)*u))
	return JPEG{Quality: min(98, max(qualityAt1, q)), GridX: rng.IntN(8), GridY: rng.IntN(8)}
}
