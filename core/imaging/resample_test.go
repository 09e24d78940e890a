package imaging

import (
	"image"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"

	xdraw "golang.org/x/image/draw"
)

func TestResizeKeepsConstants(t *testing.T) {
	src := NewPlane(7, 5)
	for i := range src.Pix {
		src.Pix[i] = 0.25
	}
	for _, k := range []Kernel{Nearest, Bilinear, Bicubic} {
		for _, size := range [][2]int{{14, 10}, {21, 15}, {3, 2}, {1, 1}, {7, 5}} {
			out := Resize(src, size[0], size[1], k)
			for _, v := range out.Pix {
				if math.Abs(float64(v)-0.25) > 1e-6 {
					t.Fatalf("%s to %v: %g, want 0.25", k.Name, size, v)
				}
			}
		}
	}
}

// TestBicubicWeights checks the weights against MATLAB's contributions.m,
// worked by hand: enlarging 4 pixels to 8 puts output 0 at source -0.25,
// taps -2..1 (mirrored to 1, 0, 0, 1) with cubic weights at distances
// 1.75, 0.75, 0.25, 1.25; shrinking 8 to 4 centres output 0 at 0.5 with
// the kernel stretched twofold.
func TestBicubicWeights(t *testing.T) {
	up := axisWeights(Bicubic, 4, 8)[0]
	wantIdx := []int{1, 0, 0, 1}
	wantW := []float64{cubic(1.75), cubic(0.75), cubic(0.25), cubic(1.25)}
	var sum float64
	for _, w := range wantW {
		sum += w
	}
	if len(up.idx) != 4 {
		t.Fatalf("%d taps, want 4", len(up.idx))
	}
	for i := range wantIdx {
		if up.idx[i] != wantIdx[i] || math.Abs(up.weights[i]-wantW[i]/sum) > 1e-12 {
			t.Errorf("tap %d: index %d weight %g, want %d and %g", i, up.idx[i], up.weights[i], wantIdx[i], wantW[i]/sum)
		}
	}
	down := axisWeights(Bicubic, 8, 4)[0]
	sum = 0
	var ws []float64
	for j := -4; j <= 5; j++ {
		w := 0.5 * cubic(0.5*(0.5-float64(j)))
		if w != 0 {
			ws = append(ws, w)
			sum += w
		}
	}
	if len(down.weights) != len(ws) {
		t.Fatalf("%d taps, want %d", len(down.weights), len(ws))
	}
	for i := range ws {
		if math.Abs(down.weights[i]-ws[i]/sum) > 1e-12 {
			t.Errorf("shrink tap %d: %g, want %g", i, down.weights[i], ws[i]/sum)
		}
	}
}

func TestResizeRegionMatchesWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	src := randomPlane(rng, 13, 9)
	whole := Resize(src, 39, 27, Bicubic)
	r := image.Rect(5, 7, 30, 20)
	part := ResizeRegion(src, 39, 27, Bicubic, r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if part.At(x-r.Min.X, y-r.Min.Y) != whole.At(x, y) {
				t.Fatalf("(%d,%d) differs", x, y)
			}
		}
	}
}

// resizeReference is ResizeRegion's arithmetic for the whole plane,
// literally: per output row, the vertical sums tap by tap from zero over
// every source column, then the horizontal sums tap by tap, in float64.
func resizeReference(src Plane, w, h int, k Kernel) Plane {
	xs, ys := axisWeights(k, src.W, w), axisWeights(k, src.H, h)
	out := NewPlane(w, h)
	col := make([]float64, src.W)
	for y := 0; y < h; y++ {
		clear(col)
		for j, sy := range ys[y].idx {
			for c := range col {
				col[c] += ys[y].weights[j] * float64(src.Pix[sy*src.W+c])
			}
		}
		for x := 0; x < w; x++ {
			var s float64
			for j, sx := range xs[x].idx {
				s += xs[x].weights[j] * col[sx]
			}
			out.Pix[y*w+x] = float32(s)
		}
	}
	return out
}

// TestResizeMatchesReference: the unrolled paths for four taps give the
// reference's numbers bit for bit, enlarging and shrinking.
func TestResizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	src := randomPlane(rng, 17, 11)
	for _, size := range []image.Point{{34, 22}, {51, 33}, {68, 44}, {9, 6}, {17, 44}, {40, 5}} {
		for _, k := range []Kernel{Bicubic, Bilinear, Nearest} {
			want, got := resizeReference(src, size.X, size.Y, k), Resize(src, size.X, size.Y, k)
			for i := range want.Pix {
				if math.Float32bits(got.Pix[i]) != math.Float32bits(want.Pix[i]) {
					t.Fatalf("%s to %v: sample %d: %g, reference %g", k.Name, size, i, got.Pix[i], want.Pix[i])
				}
			}
		}
	}
}

// TestCatmullRomIsNotMATLAB records why core has its own bicubic: x/image's
// CatmullRom is the same Keys cubic, but it renormalises at the borders
// instead of mirroring and works in 16-bit colour, so near edges it misses
// MATLAB's imresize by more than one 8-bit level.
func TestCatmullRomIsNotMATLAB(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	w, h := 24, 16
	gray := image.NewGray(image.Rect(0, 0, w, h))
	src := NewPlane(w, h)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.IntN(256))
		src.Pix[i] = float32(gray.Pix[i]) / 255
	}
	ours := Resize(src, 2*w, 2*h, Bicubic)
	theirs := image.NewGray(image.Rect(0, 0, 2*w, 2*h))
	xdraw.CatmullRom.Scale(theirs, theirs.Bounds(), gray, gray.Bounds(), draw.Src, nil)
	var worst, interior float64
	for y := 0; y < 2*h; y++ {
		for x := 0; x < 2*w; x++ {
			d := math.Abs(math.Round(math.Min(255, math.Max(0, float64(ours.At(x, y))*255))) - float64(theirs.GrayAt(x, y).Y))
			worst = math.Max(worst, d)
			if x >= 4 && y >= 4 && x < 2*w-4 && y < 2*h-4 {
				interior = math.Max(interior, d)
			}
		}
	}
	t.Logf("max difference: %g levels overall, %g away from the borders", worst, interior)
	if interior > 1 {
		t.Errorf("away from the borders the two should agree within a level: %g", interior)
	}
	if worst <= 1 {
		t.Errorf("CatmullRom now matches MATLAB within a level at the borders (%g): core could use it", worst)
	}
}

// randomPlane is a w x h plane of uniform noise.
func randomPlane(rng *rand.Rand, w, h int) Plane {
	p := NewPlane(w, h)
	for i := range p.Pix {
		p.Pix[i] = rng.Float32()
	}
	return p
}
