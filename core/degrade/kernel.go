package degrade

import (
	"fmt"
	"math"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
)

// Kernel is a square blur kernel of odd size whose weights sum to one.
type Kernel struct {
	Size int
	W    []float32 // row by row, Size*Size
	Name string    // what it is, for logs: "gaussian sx=1.2 sy=0.8 θ=0.5"

	// col and row factor a separable kernel (W[y][x] = col[y]*row[x], as
	// an isotropic or axis-aligned Gaussian is): Apply then runs two 1-D
	// passes. nil for the others.
	col, row []float32
}

// quadratic returns, for an offset (x, y), the quadratic form x'Σ⁻¹x of
// a Gaussian with standard deviations sx, sy along axes rotated by theta.
func quadratic(sx, sy, theta float64) func(x, y float64) float64 {
	c, s := math.Cos(theta), math.Sin(theta)
	return func(x, y float64) float64 {
		u, v := c*x+s*y, -s*x+c*y
		return u*u/(sx*sx) + v*v/(sy*sy)
	}
}

// newKernel samples f over a size x size grid centred on zero and
// normalises it.
func newKernel(size int, name string, f func(x, y float64) float64) Kernel {
	if size < 1 || size%2 == 0 {
		panic(fmt.Sprintf("degrade: kernel size %d is not odd", size))
	}
	k := Kernel{Size: size, W: make([]float32, size*size), Name: name}
	r := size / 2
	w := make([]float64, size*size)
	var sum float64
	for y := -r; y <= r; y++ {
		for x := -r; x <= r; x++ {
			v := f(float64(x), float64(y))
			w[(y+r)*size+x+r] = v
			sum += v
		}
	}
	for i, v := range w {
		k.W[i] = float32(v / sum)
	}
	k.col, k.row = factor(w, size, sum)
	return k
}

// factor returns col and row with w[y][x]/sum = col[y]*row[x] to float32
// precision, or nil if w is not separable.
func factor(w []float64, size int, sum float64) (col, row []float32) {
	c := size / 2
	centre := w[c*size+c]
	if centre <= 0 {
		return nil, nil
	}
	var peak float64
	for _, v := range w {
		peak = max(peak, math.Abs(v))
	}
	for y := range size {
		for x := range size {
			if math.Abs(w[y*size+x]-w[y*size+c]*w[c*size+x]/centre) > 1e-6*peak {
				return nil, nil
			}
		}
	}
	col, row = make([]float32, size), make([]float32, size)
	var rs float64
	for x := range size {
		rs += w[c*size+x]
	}
	for i := range size {
		row[i] = float32(w[c*size+i] / rs)
		col[i] = float32(w[i*size+c] * rs / centre / sum)
	}
	return col, row
}

// Gaussian is the (anisotropic, rotated) Gaussian kernel with standard
// deviations sx and sy, in pixels, along axes rotated by theta radians.
func Gaussian(size int, sx, sy, theta float64) Kernel {
	q := quadratic(sx, sy, theta)
	return newKernel(size, fmt.Sprintf("gaussian sx=%.2f sy=%.2f θ=%.2f", sx, sy, theta),
		func(x, y float64) float64 { return math.Exp(-0.5 * q(x, y)) })
}

// GeneralizedGaussian is exp(-(x'Σ⁻¹x)^beta / 2): beta 1 is the
// Gaussian, below 1 a sharper peak with heavier tails, above a flatter top.
func GeneralizedGaussian(size int, sx, sy, theta, beta float64) Kernel {
	q := quadratic(sx, sy, theta)
	return newKernel(size, fmt.Sprintf("generalized sx=%.2f sy=%.2f θ=%.2f β=%.2f", sx, sy, theta, beta),
		func(x, y float64) float64 { return math.Exp(-0.5 * math.Pow(q(x, y), beta)) })
}

// Plateau is 1 / (1 + (x'Σ⁻¹x)^beta): a flat top that falls off slowly.
func Plateau(size int, sx, sy, theta, beta float64) Kernel {
	q := quadratic(sx, sy, theta)
	return newKernel(size, fmt.Sprintf("plateau sx=%.2f sy=%.2f θ=%.2f β=%.2f", sx, sy, theta, beta),
		func(x, y float64) float64 { return 1 / (1 + math.Pow(q(x, y), beta)) })
}

// Sinc is the ideal circular low-pass filter with cutoff omega (radians
// per pixel; π keeps everything a pixel grid holds), truncated to the
// size: it rings and overshoots at edges as sharpened and resized images do.
func Sinc(size int, omega float64) Kernel {
	return newKernel(size, fmt.Sprintf("sinc ω=%.2f", omega), func(x, y float64) float64 {
		r := math.Hypot(x, y)
		if r == 0 {
			return omega * omega / (4 * math.Pi)
		}
		return omega * math.J1(omega*r) / (2 * math.Pi * r)
	})
}

// Apply convolves each plane with the kernel, edges replicated.
func (k Kernel) Apply(planes []imaging.Plane) []imaging.Plane {
	out := make([]imaging.Plane, len(planes))
	for i, p := range planes {
		out[i] = k.apply(p)
	}
	return out
}

func (k Kernel) apply(p imaging.Plane) imaging.Plane {
	if k.row != nil {
		return k.separable(p)
	}
	r := k.Size / 2
	pw := p.W + 2*r
	// The plane padded by r on every side, edges replicated.
	pad := make([]float32, pw*(p.H+2*r))
	for y := 0; y < p.H+2*r; y++ {
		src := p.Pix[min(max(y-r, 0), p.H-1)*p.W:][:p.W]
		row := pad[y*pw:][:pw]
		for x := 0; x < r; x++ {
			row[x], row[r+p.W+x] = src[0], src[p.W-1]
		}
		copy(row[r:], src)
	}
	out := imaging.NewPlane(p.W, p.H)
	for y := 0; y < p.H; y++ {
		dst := out.Pix[y*p.W:][:p.W]
		for ky := 0; ky < k.Size; ky++ {
			row := pad[(y+ky)*pw:][:pw]
			for kx, w := range k.W[ky*k.Size:][:k.Size] {
				if w == 0 {
					continue
				}
				kernels.Axpy(w, row[kx:][:len(dst)], dst)
			}
		}
	}
	return out
}

// separable blurs with the kernel's column, then its row.
func (k Kernel) separable(p imaging.Plane) imaging.Plane {
	r := k.Size / 2
	// Vertical pass, rows past the edges replicated.
	tmp := imaging.NewPlane(p.W, p.H)
	for y := 0; y < p.H; y++ {
		dst := tmp.Pix[y*p.W:][:p.W]
		for ky, w := range k.col {
			kernels.Axpy(w, p.Pix[min(max(y+ky-r, 0), p.H-1)*p.W:][:p.W], dst)
		}
	}
	// Horizontal pass over each row padded by r, edges replicated.
	out := imaging.NewPlane(p.W, p.H)
	pad := make([]float32, p.W+2*r)
	for y := 0; y < p.H; y++ {
		src := tmp.Pix[y*p.W:][:p.W]
		for x := 0; x < r; x++ {
			pad[x], pad[r+p.W+x] = src[0], src[p.W-1]
		}
		copy(pad[r:], src)
		dst := out.Pix[y*p.W:][:p.W]
		for kx, w := range k.row {
			kernels.Axpy(w, pad[kx:][:p.W], dst)
		}
	}
	return out
}
