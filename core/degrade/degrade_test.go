package degrade

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
)

func TestKernels(t *testing.T) {
	for _, tc := range []struct {
		k         Kernel
		symmetric bool    // the same under a half turn (every kernel here) and a mirror (isotropic ones)
		sigma     float64 // > 0: the kernel's standard deviation along x should be this
	}{
		{Gaussian(21, 2, 2, 0), true, 2},
		{Gaussian(21, 3, 1, 0), false, 3},
		{Gaussian(7, 0.2, 0.2, 0), true, 0}, // sampled on the grid: nearly an impulse
		{Gaussian(21, 2, 0.7, 1.1), false, 0},
		{GeneralizedGaussian(15, 1.5, 1, 0.3, 0.5), false, 0},
		{GeneralizedGaussian(15, 1.5, 1.5, 0, 4), true, 0},
		{Plateau(15, 1.5, 0.8, 2, 1.5), false, 0},
		{Sinc(21, math.Pi/3), true, 0},
		{Sinc(7, math.Pi), true, 0},
	} {
		t.Run(tc.k.Name, func(t *testing.T) {
			n := tc.k.Size
			if n%2 == 0 || len(tc.k.W) != n*n {
				t.Fatalf("size %d with %d weights", n, len(tc.k.W))
			}
			var sum, varX float64
			for i, w := range tc.k.W {
				sum += float64(w)
				x := float64(i%n - n/2)
				varX += float64(w) * x * x
				if j := n*n - 1 - i; math.Abs(float64(w-tc.k.W[j])) > 1e-6 {
					t.Fatalf("not symmetric under a half turn at %d: %g against %g", i, w, tc.k.W[j])
				}
				if tc.symmetric {
					if j := i - i%n + n - 1 - i%n; math.Abs(float64(w-tc.k.W[j])) > 1e-6 {
						t.Fatalf("not mirror-symmetric at %d", i)
					}
				}
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("weights sum to %g, want 1", sum)
			}
			if tc.sigma > 0 && math.Abs(math.Sqrt(varX)-tc.sigma) > 0.02*tc.sigma+0.01 {
				t.Errorf("standard deviation along x %.3f, want %.3f", math.Sqrt(varX), tc.sigma)
			}
		})
	}
}

// TestBlurApply: a flat plane stays flat, an impulse becomes the kernel
// (mirrored), and the edges are replicated.
func TestBlurApply(t *testing.T) {
	k := Gaussian(5, 1.3, 0.6, 0.4)
	flat := imaging.NewPlane(9, 8)
	for i := range flat.Pix {
		flat.Pix[i] = 0.3
	}
	for i, v := range k.Apply([]imaging.Plane{flat})[0].Pix {
		if math.Abs(float64(v)-0.3) > 1e-6 {
			t.Fatalf("flat plane blurred to %g at %d", v, i)
		}
	}
	imp := imaging.NewPlane(11, 11)
	imp.Pix[5*11+5] = 1
	got := k.Apply([]imaging.Plane{imp})[0]
	for y := 0; y < 5; y++ {
		for x := 0; x < 5; x++ {
			want := k.W[(4-y)*5+4-x]
			if g := got.At(3+x, 3+y); math.Abs(float64(g-want)) > 1e-7 {
				t.Fatalf("impulse response at (%d,%d) = %g, want %g", x, y, g, want)
			}
		}
	}
	// A separable kernel's two passes give its 2-D convolution's numbers.
	for _, k := range []Kernel{Gaussian(9, 1.5, 1.5, 0), Gaussian(13, 2, 0.8, 0), Gaussian(13, 2, 0.8, math.Pi/2)} {
		if k.row == nil {
			t.Fatalf("%s: not found separable", k.Name)
		}
		img := texture(23, 17, 5)
		fast := k.Apply(img)
		k.row, k.col = nil, nil
		slow := k.Apply(img)
		for c := range fast {
			for i, v := range fast[c].Pix {
				if math.Abs(float64(v-slow[c].Pix[i])) > 2e-6 {
					t.Fatalf("%s: separable %g, 2-D %g at %d", k.Name, v, slow[c].Pix[i], i)
				}
			}
		}
	}
	if k := Gaussian(9, 2, 0.8, 0.5); k.row != nil {
		t.Errorf("%s taken for separable", k.Name)
	}
	// A step at the left edge: the replicated border keeps column 0 at
	// what a blur of a plane extended by its edge gives.
	step := imaging.NewPlane(6, 6)
	for y := 0; y < 6; y++ {
		step.Pix[y*6] = 1
	}
	box := Gaussian(3, 100, 100, 0) // nearly a 3x3 box
	if g := box.Apply([]imaging.Plane{step})[0].At(0, 2); math.Abs(float64(g)-2.0/3) > 1e-3 {
		t.Errorf("edge pixel %g, want about 2/3 (the edge replicated once)", g)
	}
}

func TestNoiseSigma(t *testing.T) {
	const w, h = 256, 256
	flat := func(v float32) []imaging.Plane {
		ps := make([]imaging.Plane, 3)
		for c := range ps {
			ps[c] = imaging.NewPlane(w, h)
			for i := range ps[c].Pix {
				ps[c].Pix[i] = v
			}
		}
		return ps
	}
	for _, tc := range []struct {
		n     Noise
		level float32
		want  float64 // standard deviation of the added noise
	}{
		{Noise{Sigma: 0.05}, 0.5, 0.05},
		{Noise{Sigma: 0.02, Gray: true}, 0.5, 0.02},
		{Noise{Sigma: 1, Poisson: true}, 0.5, math.Sqrt(0.5*255) / 255},
		{Noise{Sigma: 2, Poisson: true, Gray: true}, 0.2, 2 * math.Sqrt(0.2*255) / 255},
		{Noise{Sigma: 1, Poisson: true}, 0.02, math.Sqrt(0.02*255) / 255}, // Knuth's sampler
	} {
		t.Run(tc.n.String(), func(t *testing.T) {
			in := flat(tc.level)
			out := tc.n.Apply(in, rand.New(rand.NewPCG(1, 2)))
			for c := range out {
				var sum, sq float64
				for i, v := range out[c].Pix {
					d := float64(v - in[c].Pix[i])
					sum += d
					sq += d * d
				}
				mean := sum / (w * h)
				sd := math.Sqrt(sq/(w*h) - mean*mean)
				if math.Abs(sd-tc.want) > 0.03*tc.want || math.Abs(mean) > 0.02*tc.want+1e-4 {
					t.Errorf("channel %d: noise mean %.5f sd %.5f, want 0 and %.5f", c, mean, sd, tc.want)
				}
				if in[c].Pix[0] != tc.level {
					t.Fatal("the input was changed")
				}
			}
			same := reflect.DeepEqual(out[0].Pix, out[1].Pix) && reflect.DeepEqual(out[1].Pix, out[2].Pix)
			if same != tc.n.Gray {
				t.Errorf("channels equal: %v, want %v (grey noise)", same, tc.n.Gray)
			}
		})
	}
}

// texture is a deterministic colour test image: smooth gradients and
// random detail.
func texture(w, h int, seed uint64) []imaging.Plane {
	rng := rand.New(rand.NewPCG(seed, 7))
	ps := make([]imaging.Plane, 3)
	for c := range ps {
		ps[c] = imaging.NewPlane(w, h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := 0.5 + 0.3*math.Sin(float64(x*(c+1))/7+float64(y)/5) + 0.1*rng.NormFloat64()
				ps[c].Pix[y*w+x] = float32(math.Min(1, math.Max(0, v)))
			}
		}
	}
	return ps
}

func TestJPEG(t *testing.T) {
	img := texture(40, 36, 1)
	for _, q := range []int{30, 50, 75, 95} {
		j := JPEG{Quality: q, GridX: 3, GridY: 5}
		file, gx, gy := j.Encode(img)
		if got, ok := imaging.JPEGQuality(file); !ok || got != q {
			t.Errorf("q%d: the file reads back as quality %d (%v)", q, got, ok)
		}
		if gx != 3 || gy != 5 {
			t.Errorf("grid (%d,%d), want (3,5)", gx, gy)
		}
		out := j.Apply(img, nil)
		// Left of and above the grid the pixels are untouched; inside
		// they change, the more the lower the quality.
		if out[1].At(2, 20) != img[1].At(2, 20) || out[0].At(20, 4) != img[0].At(20, 4) {
			t.Errorf("q%d: pixels outside the grid changed", q)
		}
		var diff float64
		for c := range out {
			for i, v := range out[c].Pix {
				diff += math.Abs(float64(v - img[c].Pix[i]))
			}
		}
		if diff == 0 {
			t.Errorf("q%d: JPEG changed nothing", q)
		}
	}
}

func TestResizeOp(t *testing.T) {
	img := texture(30, 20, 2)
	for _, k := range []imaging.Kernel{Area, imaging.Bilinear, imaging.Bicubic} {
		out := Resize{13, 9, k}.Apply(img, nil)
		if len(out) != 3 || out[2].W != 13 || out[2].H != 9 {
			t.Fatalf("%s: %d planes of %dx%d", k.Name, len(out), out[2].W, out[2].H)
		}
	}
	// Area shrinking by 2 averages 2x2 blocks.
	got := Resize{15, 10, Area}.Apply(img, nil)[0]
	want := (img[0].At(4, 6) + img[0].At(5, 6) + img[0].At(4, 7) + img[0].At(5, 7)) / 4
	if math.Abs(float64(got.At(2, 3)-want)) > 1e-6 {
		t.Errorf("area shrink gives %g, want the 2x2 mean %g", got.At(2, 3), want)
	}
}

func TestDraw(t *testing.T) {
	const scale, side = 4, 96
	img := texture(side, side, 3)
	clean := Draw(rand.New(rand.NewPCG(1, 1)), 0, scale, side, side)
	if clean.String() != Clean(side/scale, side/scale).String() || clean.Severity != 0 {
		t.Fatalf("severity 0 drew %v, want the clean bicubic shrink", clean)
	}
	var meanBlur [2]float64
	for i := range 400 {
		sev := float32(i%2)*0.6 + 0.3 // 0.3 and 0.9
		c := Draw(rand.New(rand.NewPCG(uint64(i), 9)), sev, scale, side, side)
		if _, ok := c.Ops[len(c.Ops)-1].(Quantize); !ok {
			t.Fatalf("%v does not end in 8-bit rounding", c)
		}
		for _, op := range c.Ops {
			switch op := op.(type) {
			case Blur:
				if op.Kernel.Size < 7 || op.Kernel.Size > maxKernel {
					t.Fatalf("kernel size %d", op.Kernel.Size)
				}
			case JPEG:
				if op.Quality < qualityAt1 || op.Quality > 98 {
					t.Fatalf("JPEG quality %d", op.Quality)
				}
			case Noise:
				if max := float64(sev) * Models[""].Noise1; !op.Poisson && op.Sigma > max+1e-9 {
					t.Fatalf("noise σ %g above %g at severity %g", op.Sigma, max, sev)
				}
			}
		}
		if i < 20 {
			out := c.Apply(img)
			if len(out) != 3 || out[0].W != side/scale || out[0].H != side/scale {
				t.Fatalf("%v gives %dx%d", c, out[0].W, out[0].H)
			}
			if again := c.Apply(img); !reflect.DeepEqual(out, again) {
				t.Fatalf("%v: applying the same chain twice differs", c)
			}
			if again := Draw(rand.New(rand.NewPCG(uint64(i), 9)), sev, scale, side, side); c.String() != again.String() || c.Seed != again.Seed {
				t.Fatalf("the same seed drew %v and %v", c, again)
			}
		}
		// How far the result is from the clean shrink, on average.
		if i < 40 {
			out, ref := c.Apply(img), clean.Apply(img)
			var d float64
			for ch := range out {
				for j, v := range out[ch].Pix {
					d += math.Abs(float64(v - ref[ch].Pix[j]))
				}
			}
			meanBlur[i%2] += d
		}
	}
	if meanBlur[1] <= meanBlur[0] {
		t.Errorf("severity 0.9 moves the image %g from the clean shrink, severity 0.3 %g: want more", meanBlur[1], meanBlur[0])
	}
}

// TestModels: the camera model draws less noise and fewer JPEG stages than
// the default at the same severity, and the same blur; the noisy model adds
// noise to far more chains, with the same blur; the lens model blurs more
// than camera (its kernels' spread, Gaussians only), with camera's noise.
func TestModels(t *testing.T) {
	spreads := map[string]float64{} // the mean variance of the Gaussian kernels drawn, by model
	count := func(g Ranges) (noise float64, noisy, jpegs, blurs int) {
		n := 0
		for i := range 500 {
			hasNoise := false
			for _, op := range g.Draw(rand.New(rand.NewPCG(uint64(i), 3)), 0.8, 4, 96, 96).Ops {
				switch op := op.(type) {
				case Noise:
					hasNoise = true
					if !op.Poisson {
						noise = max(noise, op.Sigma)
					}
				case JPEG:
					jpegs++
				case Blur:
					blurs++
					if strings.HasPrefix(op.Kernel.Name, "gaussian") {
						spreads[g.Name] += variance(op.Kernel)
						n++
					}
				}
			}
			if hasNoise {
				noisy++
			}
		}
		spreads[g.Name] /= float64(n)
		return
	}
	dn, dNoisy, dj, db := count(Models[""])
	cn, _, cj, cb := count(Models["camera"])
	if !(cn <= 0.8*Models["camera"].Noise1+1e-9 && cn < dn/2 && cj < dj*2/3 && cb > db*3/4) {
		t.Errorf("camera: noise up to %.4f (default %.4f), %d JPEG stages (default %d), %d blurs (default %d)", cn, dn, cj, dj, cb, db)
	}
	_, nNoisy, _, nb := count(Models["noisy"])
	if !(nNoisy > 400 && nNoisy > dNoisy*3/2 && nb > db*3/4 && nb < db*4/3) {
		t.Errorf("noisy: %d of 500 chains with noise (default %d), %d blurs (default %d)", nNoisy, dNoisy, nb, db)
	}
	for name, g := range Models { // only a model that sharpens draws a Sharpen stage
		sharpened := 0
		for i := range 500 {
			for _, op := range g.Draw(rand.New(rand.NewPCG(uint64(i), 3)), 0.8, 4, 96, 96).Ops {
				if op, ok := op.(Sharpen); ok {
					sharpened++
					if op.Amount <= 0 || op.Amount > g.Sharpen*0.8+1e-9 {
						t.Errorf("%q: sharpen amount %g at severity 0.8, want in (0, %g]", name, op.Amount, g.Sharpen*0.8)
					}
				}
			}
		}
		if want := g.SharpenP * 500; math.Abs(float64(sharpened)-want) > 50 {
			t.Errorf("%q: %d of 500 chains sharpen, want about %g", name, sharpened, want)
		}
	}
	ln, _, lj, lb := count(Models["lens"])
	if !(spreads["lens"] > 1.5*spreads["camera"] && ln == cn && lj == cj && lb == cb) {
		t.Errorf("lens: Gaussian variance %.2f (camera %.2f), noise up to %.4f (camera %.4f), %d JPEG stages (camera %d), %d blurs (camera %d)",
			spreads["lens"], spreads["camera"], ln, cn, lj, cj, lb, cb)
	}
}

// TestSharpen: the unsharp mask leaves a flat plane as it is and
// overshoots on both sides of an edge (the halos), by more the larger the
// amount, leaving the plane as it was away from the edge.
func TestSharpen(t *testing.T) {
	step := imaging.NewPlane(32, 8)
	for y := range 8 {
		for x := 16; x < 32; x++ {
			step.Pix[y*32+x] = 0.5
		}
	}
	flat := imaging.NewPlane(32, 8)
	for i := range flat.Pix {
		flat.Pix[i] = 0.3
	}
	prevHalo := float32(0)
	for _, amount := range []float64{0.5, 1, 2} {
		out := UnsharpMask(1, amount).Apply([]imaging.Plane{step, flat}, nil)
		lo, hi := out[0].Pix[4*32+15], out[0].Pix[4*32+16] // beside the edge
		if !(lo < 0 && hi > 0.5) {
			t.Errorf("amount %g: %g and %g beside a 0-to-0.5 edge, want an undershoot and an overshoot", amount, lo, hi)
		}
		if halo := hi - 0.5; halo <= prevHalo {
			t.Errorf("amount %g: halo %g, not larger than a smaller amount's %g", amount, halo, prevHalo)
		} else {
			prevHalo = halo
		}
		if far := out[0].Pix[4*32+2]; far != 0 {
			t.Errorf("amount %g: %g far from the edge, want 0", amount, far)
		}
		for i, v := range out[1].Pix {
			if math.Abs(float64(v)-0.3) > 1e-6 {
				t.Fatalf("amount %g: flat plane's sample %d is %g, want 0.3", amount, i, v)
			}
		}
	}
}

// variance is a kernel's spread: the mean squared distance from its centre,
// weighted by its taps.
func variance(k Kernel) float64 {
	c := float64(k.Size / 2)
	v := 0.0
	for y := range k.Size {
		for x := range k.Size {
			dx, dy := float64(x)-c, float64(y)-c
			v += float64(k.W[y*k.Size+x]) * (dx*dx + dy*dy)
		}
	}
	return v
}
