package training

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

// TestJPEGDegradation: a degraded patch's LR image carries JPEG blocks on
// the shifted 8x8 grid; a clean one equals the clean Dataset's; sampling
// draws the share of clean patches asked for.
func TestJPEGDegradation(t *testing.T) {
	dir := t.TempDir()
	trainingtest.WriteNoiseImages(t, dir, 1, 200, 200, 11)
	ds, err := OpenDataset([]string{dir}, 2, 48, 1, JPEGBand{Lo: 5, Hi: 5}, DegradeBand{}, 1<<24, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	planes, err := ds.cache.get(ds.files[0], ds.cacheChannels(false))
	if err != nil {
		t.Fatal(err)
	}
	need := ds.patch + 2*ds.margin
	rgb := make([]imaging.Plane, 3)
	for c := range rgb {
		rgb[c] = planes[c].Crop(need, need)
	}
	// The Y cached beside R, G, B is the Y that lumaOf makes of a crop.
	luma := planes[3].Crop(need, need)
	for i, v := range imaging.Luma8(rgb).Pix {
		if luma.Pix[i] != v {
			t.Fatalf("cached Y pixel %d is %g, lumaOf of the crop %g", i, luma.Pix[i], v)
		}
	}
	for _, grid := range [][2]int{{0, 0}, {3, 6}} {
		lr := ds.jpegLR(rgb, luma, patchSpec{quality: 5, gridX: grid[0], gridY: grid[1]})
		// Mean step across columns on the grid's block edges against the
		// other columns, right of the shifted grid's start.
		var edge, inner float64
		var ne, ni int
		for y := grid[1]; y < lr.H; y++ {
			for x := grid[0] + 1; x < lr.W; x++ {
				d := math.Abs(float64(lr.Pix[y*lr.W+x] - lr.Pix[y*lr.W+x-1]))
				if (x-grid[0])%8 == 0 {
					edge, ne = edge+d, ne+1
				} else {
					inner, ni = inner+d, ni+1
				}
			}
		}
		edge, inner = edge/float64(ne), inner/float64(ni)
		if !(edge > 1.5*inner) {
			t.Errorf("grid %v: mean step %.4f on block edges, %.4f inside: no blocks where the grid is", grid, edge, inner)
		}
	}
	clean := ds.jpegLR(rgb, luma, patchSpec{})
	plain := imaging.Resize(imaging.Luma8(rgb), need/ds.scale, need/ds.scale, imaging.Bicubic)
	for i := range clean.Pix {
		if clean.Pix[i] != plain.Pix[i] {
			t.Fatal("a clean patch differs from the clean Dataset's LR")
		}
	}
	ds.jpeg = JPEGBand{Lo: 30, Hi: 90, Clean: 0.25}
	rng := rand.New(rand.NewPCG(1, 2))
	cleanN := 0
	for i := 0; i < 2000; i++ {
		s := ds.sample(rng)
		if s.quality == 0 {
			cleanN++
		} else if s.quality < 30 || s.quality > 90 || s.gridX > 7 || s.gridY > 7 {
			t.Fatalf("sampled %+v", s)
		}
	}
	if share := float64(cleanN) / 2000; math.Abs(share-0.25) > 0.04 {
		t.Errorf("%.3f of the patches clean, want 0.25", share)
	}
	// With a share lighter than their strength: the strength still says
	// the drawn quality, the input is saved at that quality or above (or
	// left clean), as often as asked.
	ds.jpeg = JPEGBand{Lo: 30, Hi: 90, Lighter: 0.4}
	lighter, degraded := 0, 0
	for i := 0; i < 4000; i++ {
		s := ds.sample(rng)
		if s.strength == 0 {
			t.Fatalf("a clean strength with no clean share: %+v", s)
		}
		degraded++
		switch want := core.StrengthForQuality(s.quality); {
		case s.quality == 0 || want < s.strength:
			lighter++
		case want > s.strength:
			t.Fatalf("a patch saved at a lower quality than its strength says: %+v", s)
		}
	}
	// Drawn qualities can repeat the band's own (no lighter), so a little
	// under 0.4 of the patches are seen to be lighter.
	if share := float64(lighter) / float64(degraded); share < 0.3 || share > 0.42 {
		t.Errorf("%.3f of the patches lighter than their strength, want about 0.4", share)
	}
}

// TestEstimatorGrad: the pooled estimator loss's gradient against finite
// differences, for values and weights, with both losses.
func TestEstimatorGrad(t *testing.T) {
	const batch, n = 2, 5
	rng := rand.New(rand.NewPCG(8, 9))
	out := make([]float32, 2*batch*n)
	for i := range out {
		out[i] = float32(rng.Float64())
	}
	for _, l1 := range []bool{false, true} {
		grad := make([]float32, len(out))
		estimatorGrad(out, grad, 1, batch, n, 0.1, 1, l1)
		for _, j := range []int{n, n + 3, batch*n + n, batch*n + n + 4} { // patch 1's values and weights
			const h = 1e-3
			loss := func(d float32) float64 {
				o := append([]float32(nil), out...)
				o[j] += d
				return estimatorGrad(o, make([]float32, len(o)), 1, batch, n, 0.1, 1, l1)
			}
			num := (loss(h) - loss(-h)) / (2 * h)
			if math.Abs(num-float64(grad[j])) > 1e-3 {
				t.Errorf("l1 %v: output %d: gradient %g, finite differences %g", l1, j, grad[j], num)
			}
		}
		for j := range n { // patch 0 is not this patch's
			if grad[j] != 0 || grad[batch*n+j] != 0 {
				t.Fatalf("l1 %v: patch 1's loss moved patch 0's output %d", l1, j)
			}
		}
	}
}

// TestSharpenTargets: sharpened targets are the unsharp mask of the
// unsharpened ones' crop (kept with its margin, so the mask sees context)
// while the input and the anchor stay as they were, in every patch mode.
func TestSharpenTargets(t *testing.T) {
	dir := t.TempDir()
	trainingtest.WriteNoiseImages(t, dir, 1, 120, 120, 5)
	for _, tc := range []struct {
		name string
		deg  DegradeBand
		spec patchSpec
	}{
		{"clean", DegradeBand{}, patchSpec{x: 7, y: 3, aug: 5}},
		{"degraded", DegradeBand{On: true, Model: "sharpened"}, patchSpec{x: 2, y: 9, aug: 2, strength: 0.6, seed: 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := OpenDataset([]string{dir}, 2, 32, 1, JPEGBand{}, tc.deg, 1<<24, func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			p := ds.patch
			make3 := func() (in, anchor, target []float32) {
				in, anchor, target = make([]float32, p*p), make([]float32, p*p), make([]float32, p*p)
				if err := ds.make(tc.spec, in, anchor, target); err != nil {
					t.Fatal(err)
				}
				return
			}
			in0, anchor0, target0 := make3()
			s := Sharpening{Amount: 1.5, Sigma: 1.2}
			ds.SharpenTargets(s)
			in1, anchor1, target1 := make3()
			for i := range in0 {
				if in0[i] != in1[i] || anchor0[i] != anchor1[i] {
					t.Fatalf("sample %d: input %g/%g, anchor %g/%g: sharpening the targets changed the inputs", i, in0[i], in1[i], anchor0[i], anchor1[i])
				}
			}
			// The target's own unsharp mask, away from the patch's border
			// (where the mask reaches into the margin): must match.
			mask := s.Op()
			want := mask.Apply([]imaging.Plane{{W: p, H: p, Pix: target0}}, nil)[0]
			r := mask.Kernel.Size
			changed := 0.0
			for y := r; y < p-r; y++ {
				for x := r; x < p-r; x++ {
					i := y*p + x
					if math.Abs(float64(target1[i]-want.Pix[i])) > 1e-5 {
						t.Fatalf("target (%d,%d) %g, the unsharp mask of the unsharpened target %g", x, y, target1[i], want.Pix[i])
					}
					changed = max(changed, math.Abs(float64(target1[i]-target0[i])))
				}
			}
			if changed < 0.01 {
				t.Errorf("sharpening moved no target sample by more than %g", changed)
			}
		})
	}
}

// TestGivenPairs: a folder with LR/ and HR/ gives its LR images as they
// are. The HR images here repeat each LR pixel scale x scale times (and
// run past the LR image's cover by a few pixels), so every target pixel
// must equal the input pixel it lies over, under all eight flips and
// rotations; the network is told the pairs' strength. A plain folder
// beside it still gets made inputs, and a pair whose HR image is smaller
// than its LR image at the scale is skipped. All of it with the real-photo
// model on as well, where the other images keep R, G, B and Y.
func TestGivenPairs(t *testing.T) {
	const scale, lrW, lrH = 3, 40, 36
	pairs := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	writePNG := func(path string, img image.Image) {
		t.Helper()
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"LR", "HR"} {
		if err := os.Mkdir(filepath.Join(pairs, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, hrSize := range []image.Point{{lrW*scale + 5, lrH*scale + 2}, {lrW*scale - 1, lrH * scale}} {
		lr := image.NewNRGBA(image.Rect(0, 0, lrW, lrH))
		for j := range lr.Pix {
			lr.Pix[j] = uint8(rng.IntN(256))
			if j%4 == 3 {
				lr.Pix[j] = 255
			}
		}
		hr := image.NewNRGBA(image.Rectangle{Max: hrSize})
		for y := 0; y < hrSize.Y; y++ {
			for x := 0; x < hrSize.X; x++ {
				hr.Set(x, y, lr.At(min(x/scale, lrW-1), min(y/scale, lrH-1)))
			}
		}
		name := fmt.Sprintf("p%d.png", i)
		writePNG(filepath.Join(pairs, "LR", name), lr)
		writePNG(filepath.Join(pairs, "HR", name), hr)
	}
	plain := t.TempDir()
	trainingtest.WriteNoiseImages(t, plain, 1, 120, 120, 3)
	if !IsPairs(pairs) || IsPairs(plain) {
		t.Fatalf("IsPairs: %v for the pairs, %v for the plain folder", IsPairs(pairs), IsPairs(plain))
	}
	// Without and with the real-photo model (which caches R, G, B and Y of
	// the other images).
	for _, deg := range []DegradeBand{{}, {On: true}} {
		var warnings []string
		ds, err := OpenDataset([]string{pairs, plain}, scale, 24, 1, JPEGBand{}, deg, 1<<24, func(s string) { warnings = append(warnings, s) })
		if err != nil {
			t.Fatal(err)
		}
		if ds.Images() != 2 || ds.Pairs() != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "smaller than its LR image") {
			t.Fatalf("degrade %v: %d images, %d pairs, warnings %q: want 2, 1 and the small pair skipped", deg.On, ds.Images(), ds.Pairs(), warnings)
		}
		ds.lowRes = true
		ds.TellPairs(0.5)
		p, ls := ds.patch, ds.patch/scale
		in, target := make([]float32, ls*ls), make([]float32, p*p)
		augs := map[int]bool{}
		var plainSeen bool
		for n := 0; n < 400; n++ {
			s := ds.sample(rng)
			if ds.lrFiles[s.img] == "" {
				plainSeen = true
				continue
			}
			augs[s.aug] = true
			if s.strength != 0.5 || s.x%scale != 0 || s.y%scale != 0 {
				t.Fatalf("degrade %v: pair patch %+v: want strength 0.5 and a place on the LR grid", deg.On, s)
			}
			if err := ds.make(s, in, nil, target); err != nil {
				t.Fatal(err)
			}
			for y := 0; y < p; y++ {
				for x := 0; x < p; x++ {
					if got, want := target[y*p+x], in[y/scale*ls+x/scale]; got != want {
						t.Fatalf("degrade %v: patch %+v: target (%d, %d) is %g, the LR pixel it lies over %g", deg.On, s, x, y, got, want)
					}
				}
			}
		}
		if len(augs) != 8 || !plainSeen {
			t.Errorf("degrade %v: %d of the 8 flips and rotations drawn, plain images drawn: %v", deg.On, len(augs), plainSeen)
		}
	}
}
