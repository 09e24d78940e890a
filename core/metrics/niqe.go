package metrics

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// NIQE is the Natural Image Quality Evaluator (Mittal, Soundararajan and
// Bovik 2013), a no-reference measure: lower is more natural. It is
// computed as BasicSR computes it (the number real-world super-resolution
// papers report): the 8-bit Y plane cut into 96x96 blocks, 18 statistics
// of the mean-subtracted contrast-normalized coefficients per block at
// the full and the half size (MATLAB's bicubic), their mean and covariance
// set against those of a model of pristine images. The model's parameters
// (BasicSR's niqe_pris_params) are embedded.

//go:embed niqe_pris_params.json
var pristineJSON []byte

// niqeBlock is the side of the blocks statistics are gathered over.
const niqeBlock = 96

// pristine is the model of natural images: the features' mean and
// covariance, and the 7x7 Gaussian window of the local normalization.
var pristine = sync.OnceValue(func() struct {
	mu     []float64
	cov    *mat.SymDense
	window [7][7]float64
} {
	var raw struct {
		Mu     [][]float64 `json:"mu_pris_param"`
		Cov    [][]float64 `json:"cov_pris_param"`
		Window [][]float64 `json:"gaussian_window"`
	}
	if err := json.Unmarshal(pristineJSON, &raw); err != nil || len(raw.Mu) != 1 || len(raw.Mu[0]) != 36 || len(raw.Cov) != 36 || len(raw.Window) != 7 {
		panic(fmt.Sprintf("metrics: the embedded NIQE model is damaged (%v)", err))
	}
	var p struct {
		mu     []float64
		cov    *mat.SymDense
		window [7][7]float64
	}
	p.mu = raw.Mu[0]
	p.cov = mat.NewSymDense(36, nil)
	for i, row := range raw.Cov {
		for j := i; j < 36; j++ {
			p.cov.SetSym(i, j, row[j])
		}
	}
	for y, row := range raw.Window {
		copy(p.window[y][:], row)
	}
	return p
})

// NIQE returns the NIQE score of a Y plane (0..1 scale; the values are
// rounded to 8-bit levels first). Only whole 96x96 blocks from the top-left
// corner count: a plane needs at least 96x96 pixels, and two blocks for a
// covariance.
func NIQE(y imaging.Plane) (float64, error) {
	bw, bh := y.W/niqeBlock, y.H/niqeBlock
	if bw*bh < 2 {
		return 0, fmt.Errorf("metrics: NIQE needs two 96x96 blocks; a %dx%d image has %d", y.W, y.H, bw*bh)
	}
	w, h := bw*niqeBlock, bh*niqeBlock
	img := make([]float64, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			img[r*w+c] = imaging.Round8(y.Pix[r*y.W+c])
		}
	}
	p := pristine()
	feats := make([][]float64, bw*bh) // a row of 36 features per block
	for scale := 1; scale <= 2; scale++ {
		norm := mscn(img, w, h, &p.window)
		side := niqeBlock / scale
		for bx := 0; bx < bw; bx++ {
			for by := 0; by < bh; by++ {
				block := make([]float32, 0, side*side)
				for r := by * side; r < (by+1)*side; r++ {
					block = append(block, norm[r*w+bx*side:][:side]...)
				}
				feats[bx*bh+by] = append(feats[bx*bh+by], blockFeatures(block, side)...)
			}
		}
		if scale == 1 {
			half := imaging.NewPlane(w, h)
			for i, v := range img {
				half.Pix[i] = float32(v / 255)
			}
			half = imaging.Resize(half, w/2, h/2, imaging.Bicubic)
			w, h = w/2, h/2
			img = img[:w*h]
			for i, v := range half.Pix {
				img[i] = float64(v) * 255
			}
		}
	}
	return distance(p.mu, p.cov, feats)
}

// mscn returns the mean-subtracted contrast-normalized coefficients:
// (I - μ) / (σ + 1), μ and σ local to the Gaussian window, edges replicated.
// The arithmetic is BasicSR's: sums in float64, everything else in float32
// (σ² as a difference of two float32 values loses digits on smooth areas,
// and the reference values carry that).
func mscn(img []float64, w, h int, win *[7][7]float64) []float32 {
	out := make([]float32, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			var mu, sq float64
			for dy := -3; dy <= 3; dy++ {
				row := img[min(max(r+dy, 0), h-1)*w:][:w]
				for dx := -3; dx <= 3; dx++ {
					v := row[min(max(c+dx, 0), w-1)]
					k := win[dy+3][dx+3]
					mu += k * v
					sq += k * float64(float32(v*v))
				}
			}
			m, q := float32(mu), float32(sq)
			sigma := float32(math.Sqrt(float64(abs32(q - m*m))))
			out[r*w+c] = (float32(img[r*w+c]) - m) / (sigma + 1)
		}
	}
	return out
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// blockFeatures returns a block's 18 statistics: the shape and scale of
// an asymmetric generalized Gaussian fitted to its coefficients, then
// shape, mean and left and right scales fitted to the products of
// neighbours in four directions (the block wrapping around at its edges).
func blockFeatures(b []float32, side int) []float64 {
	alpha, left, right := aggd(b)
	feat := []float64{alpha, (left + right) / 2}
	prod := make([]float32, len(b))
	for _, s := range [4][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}} {
		for r := 0; r < side; r++ {
			for c := 0; c < side; c++ {
				sr, sc := (r-s[0]+side)%side, (c-s[1]+side)%side
				prod[r*side+c] = b[r*side+c] * b[sr*side+sc]
			}
		}
		alpha, left, right := aggd(prod)
		mean := (right - left) * math.Gamma(2/alpha) / math.Gamma(1/alpha)
		feat = append(feat, alpha, mean, left, right)
	}
	return feat
}

// aggdShapes and aggdRatios tabulate, for shapes 0.2 to 10 in steps of
// 0.001, the ratio Γ(2/α)² / (Γ(1/α) Γ(3/α)) that identifies the shape.
var aggdShapes, aggdRatios = func() ([]float64, []float64) {
	var shapes, ratios []float64
	for i := 0; i <= 9800; i++ {
		a := 0.2 + float64(i)*0.001
		g := math.Gamma(2 / a)
		shapes = append(shapes, a)
		ratios = append(ratios, g*g/(math.Gamma(1/a)*math.Gamma(3/a)))
	}
	return shapes, ratios
}()

// aggd fits an asymmetric generalized Gaussian by moment matching: its
// shape and the scales of its left and right halves. A block without
// negative or positive values gives NaN scales (its features are then left
// out, as NumPy's NaN arithmetic leaves them out).
func aggd(x []float32) (alpha, left, right float64) {
	var ls, rs, abs, sq float64
	var ln, rn int
	for _, v := range x {
		v2 := float64(v * v) // squared in float32, as NumPy squares a float32 array
		switch {
		case v < 0:
			ls += v2
			ln++
		case v > 0:
			rs += v2
			rn++
		}
		abs += math.Abs(float64(v))
		sq += v2
	}
	// NumPy's float32 scalars: each mean and what follows rounded to float32.
	n := float64(len(x))
	leftStd := float32(math.Sqrt(float64(float32(ls / float64(ln)))))
	rightStd := float32(math.Sqrt(float64(float32(rs / float64(rn)))))
	g := leftStd / rightStd
	meanAbs := float32(abs / n)
	r := meanAbs * meanAbs / float32(sq/n)
	rnorm := float64(r * (g*g*g + 1) * (g + 1) / ((g*g + 1) * (g*g + 1)))
	best := 0 // NumPy's argmin gives the first index when every difference is NaN
	for i, v := range aggdRatios {
		if d, e := (v-rnorm)*(v-rnorm), (aggdRatios[best]-rnorm)*(aggdRatios[best]-rnorm); d < e {
			best = i
		}
	}
	alpha = aggdShapes[best]
	k := math.Sqrt(math.Gamma(1/alpha) / math.Gamma(3/alpha))
	return alpha, float64(leftStd) * k, float64(rightStd) * k
}

// distance is NIQE itself: the Mahalanobis-like distance between the
// pristine model (mu, cov) and a multivariate Gaussian fitted to the
// blocks' features, under the mean of the two covariances.
func distance(mu []float64, cov *mat.SymDense, feats [][]float64) (float64, error) {
	const n = 36
	mean := make([]float64, n)
	for j := range n {
		var s float64
		var k int
		for _, f := range feats {
			if !math.IsNaN(f[j]) {
				s += f[j]
				k++
			}
		}
		mean[j] = s / float64(k) // NaN if no block has it: NumPy's nanmean
	}
	var rows [][]float64
	for _, f := range feats {
		ok := true
		for _, v := range f {
			ok = ok && !math.IsNaN(v)
		}
		if ok {
			rows = append(rows, f)
		}
	}
	if len(rows) < 2 {
		return 0, fmt.Errorf("metrics: NIQE: %d of %d blocks have statistics (a flat image?)", len(rows), len(feats))
	}
	// The unbiased covariance of the rows, averaged with the model's.
	rm := make([]float64, n)
	for _, f := range rows {
		for j, v := range f {
			rm[j] += v / float64(len(rows))
		}
	}
	avg := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			var s float64
			for _, f := range rows {
				s += (f[i] - rm[i]) * (f[j] - rm[j])
			}
			avg.Set(i, j, (s/float64(len(rows)-1)+cov.At(i, j))/2)
		}
	}
	inv, err := pinv(avg)
	if err != nil {
		return 0, err
	}
	d := mat.NewVecDense(n, nil)
	for j := range n {
		d.SetVec(j, mu[j]-mean[j])
	}
	var t mat.VecDense
	t.MulVec(inv, d)
	return math.Sqrt(mat.Dot(d, &t)), nil
}

// pinv is the Moore-Penrose pseudo-inverse by SVD, singular values below
// 1e-15 of the largest taken as zero (NumPy's default).
func pinv(a *mat.Dense) (*mat.Dense, error) {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDFull) {
		return nil, fmt.Errorf("metrics: NIQE: the covariance's SVD did not converge")
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	r, _ := a.Dims()
	sinv := mat.NewDense(r, r, nil)
	for i, x := range s {
		if x > 1e-15*s[0] {
			sinv.Set(i, i, 1/x)
		}
	}
	var vs, out mat.Dense
	vs.Mul(&v, sinv)
	out.Mul(&vs, u.T())
	return &out, nil
}
