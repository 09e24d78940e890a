package degrade

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// An Op is one stage of a degradation chain. It takes an image as R, G, B
// planes (0..1) and returns the degraded planes, which may be of another
// size; noise draws from rng, the other stages are fixed when drawn.
type Op interface {
	Apply(rgb []imaging.Plane, rng *rand.Rand) []imaging.Plane
	String() string
}

// Blur convolves with a kernel.
type Blur struct{ Kernel Kernel }

// Apply blurs each plane.
func (b Blur) Apply(rgb []imaging.Plane, _ *rand.Rand) []imaging.Plane { return b.Kernel.Apply(rgb) }

func (b Blur) String() string {
	return fmt.Sprintf("blur %dx%d %s", b.Kernel.Size, b.Kernel.Size, b.Kernel.Name)
}

// Area is resizing by averaging the pixels each output pixel covers when
// shrinking (MATLAB's box with antialiasing; nearest when enlarging).
var Area = imaging.Kernel{Name: "area", Width: imaging.Nearest.Width, At: imaging.Nearest.At}

// Resize resamples to W x H with a kernel (Area, imaging.Bilinear or
// imaging.Bicubic), antialiased when shrinking.
type Resize struct {
	W, H   int
	Kernel imaging.Kernel
}

// Apply resizes each plane.
func (r Resize) Apply(rgb []imaging.Plane, _ *rand.Rand) []imaging.Plane {
	out := make([]imaging.Plane, len(rgb))
	for i, p := range rgb {
		out[i] = imaging.Resize(p, r.W, r.H, r.Kernel)
	}
	return out
}

func (r Resize) String() string { return fmt.Sprintf("resize %s to %dx%d", r.Kernel.Name, r.W, r.H) }

// Sharpen is an unsharp mask, as cameras and phones apply before they
// save a photo: each plane plus Amount times its difference from a blur by
// Kernel (a Gaussian). It overshoots beside edges: the light and dark halos
// DRealSR's low-resolution photos show and their high-resolution ones
// (shot through a longer lens) do not.
type Sharpen struct {
	Kernel Kernel
	Amount float64
}

// UnsharpMask is the Sharpen of a Gaussian of standard deviation sigma
// (pixels), its kernel reaching 3 sigma.
func UnsharpMask(sigma, amount float64) Sharpen {
	return Sharpen{Gaussian(2*int(math.Ceil(3*sigma))+1, sigma, sigma, 0), amount}
}

// Apply sharpens each plane.
func (s Sharpen) Apply(rgb []imaging.Plane, _ *rand.Rand) []imaging.Plane {
	blurred := s.Kernel.Apply(rgb)
	a := float32(s.Amount)
	for c, p := range rgb {
		out := blurred[c] // reused: each sample is read once before it is written
		for i, v := range p.Pix {
			out.Pix[i] = v + a*(v-out.Pix[i])
		}
	}
	return blurred
}

func (s Sharpen) String() string {
	return fmt.Sprintf("sharpen %.2f %dx%d %s", s.Amount, s.Kernel.Size, s.Kernel.Size, s.Kernel.Name)
}

// Noise adds noise: Gaussian with standard deviation Sigma (0..1 scale),
// or, with Poisson, shot noise of an 8-bit sensor (a pixel of value v
// counts 255v photons) scaled by Sigma. Gray adds the same noise to R, G
// and B (computed from their luma for Poisson); otherwise each channel
// draws its own.
type Noise struct {
	Sigma   float64
	Poisson bool
	Gray    bool
}

// Apply adds the noise to copies of the planes.
func (n Noise) Apply(rgb []imaging.Plane, rng *rand.Rand) []imaging.Plane {
	out := make([]imaging.Plane, len(rgb))
	for i, p := range rgb {
		out[i] = imaging.Plane{W: p.W, H: p.H, Pix: append([]float32(nil), p.Pix...)}
	}
	if n.Gray {
		for i := range out[0].Pix {
			var v float64
			if n.Poisson && len(rgb) == 3 {
				v = n.draw(0.299*float64(rgb[0].Pix[i])+0.587*float64(rgb[1].Pix[i])+0.114*float64(rgb[2].Pix[i]), rng)
			} else {
				v = n.draw(float64(rgb[0].Pix[i]), rng)
			}
			for c := range out {
				out[c].Pix[i] += float32(v)
			}
		}
		return out
	}
	for c := range out {
		for i, v := range rgb[c].Pix {
			out[c].Pix[i] += float32(n.draw(float64(v), rng))
		}
	}
	return out
}

// draw returns one sample of noise for a pixel of value v.
func (n Noise) draw(v float64, rng *rand.Rand) float64 {
	if !n.Poisson {
		return rng.NormFloat64() * n.Sigma
	}
	lambda := 255 * max(0, v)
	return (poisson(lambda, rng) - lambda) / 255 * n.Sigma
}

// poisson draws from the Poisson distribution of mean lambda: Knuth's
// product of uniforms for small means, the normal approximation (which
// differs from it by less than the 8-bit step there) from 30 up.
func poisson(lambda float64, rng *rand.Rand) float64 {
	if lambda >= 30 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (n Noise) String() string {
	kind, colour := "gaussian", "colour"
	if n.Poisson {
		kind = "poisson"
	}
	if n.Gray {
		colour = "grey"
	}
	return fmt.Sprintf("%s noise %s σ=%.4f", kind, colour, n.Sigma)
}

// JPEG saves the image as a JPEG (Go's encoder, 4:2:0) at a quality and
// decodes it. The 8x8 block grid starts at (GridX, GridY), as it does in
// a photo cropped after compression; the pixels left of and above it stay
// as they were.
type JPEG struct {
	Quality      int
	GridX, GridY int
}

// Apply compresses and decodes the planes (R, G, B).
func (j JPEG) Apply(rgb []imaging.Plane, _ *rand.Rand) []imaging.Plane {
	w, h := rgb[0].W, rgb[0].H
	file, gx, gy := j.Encode(rgb)
	dec, err := jpeg.Decode(bytes.NewReader(file))
	if err != nil {
		panic(err) // our own encoder's output
	}
	out := make([]imaging.Plane, 3)
	for c := range out {
		out[c] = imaging.Plane{W: w, H: h, Pix: append([]float32(nil), rgb[c].Pix...)}
	}
	d := imaging.Split(dec, true)
	for y := 0; y < h-gy; y++ {
		for c := range out {
			copy(out[c].Pix[(y+gy)*w+gx:][:w-gx], d.C[c].Pix[y*(w-gx):][:w-gx])
		}
	}
	return out
}

// Encode returns the JPEG file of the planes' part from the grid's
// origin, (gx, gy), on.
func (j JPEG) Encode(rgb []imaging.Plane) (file []byte, gx, gy int) {
	w, h := rgb[0].W, rgb[0].H
	gx, gy = min(j.GridX, w-1), min(j.GridY, h-1)
	img := image.NewRGBA(image.Rect(0, 0, w-gx, h-gy)) // opaque; the encoder's fast path
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			o, i := img.PixOffset(x, y), (y+gy)*w+x+gx
			for c := range 3 {
				img.Pix[o+c] = to8(rgb[c].Pix[i])
			}
			img.Pix[o+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: j.Quality}); err != nil {
		panic(err) // an in-memory encode of a valid image cannot fail
	}
	return buf.Bytes(), gx, gy
}

func (j JPEG) String() string {
	return fmt.Sprintf("jpeg q%d grid (%d,%d)", j.Quality, j.GridX, j.GridY)
}

// Quantize rounds to 8-bit levels, clamping to 0..1, as saving the image
// does.
type Quantize struct{}

// Apply rounds copies of the planes.
func (Quantize) Apply(rgb []imaging.Plane, _ *rand.Rand) []imaging.Plane {
	out := make([]imaging.Plane, len(rgb))
	for c, p := range rgb {
		out[c] = imaging.NewPlane(p.W, p.H)
		for i, v := range p.Pix {
			out[c].Pix[i] = float32(to8(v)) / 255
		}
	}
	return out
}

func (Quantize) String() string { return "8-bit" }

// to8 rounds a 0..1 sample to 8 bits, clamping.
func to8(v float32) uint8 {
	return uint8(math.Round(math.Min(255, math.Max(0, float64(v)*255))))
}
