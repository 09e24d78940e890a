package imaging

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveSharpen is the mask computed pixel by pixel from its definition:
// a 2-D Gaussian of the mask's sigma, cut at its radius and normalised,
// over the plane with its edges replicated.
func naiveSharpen(u UnsharpMask, p Plane) Plane {
	r := u.Radius()
	out := NewPlane(p.W, p.H)
	for y := range p.H {
		for x := range p.W {
			var blur, sum float64
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					w := math.Exp(-float64(dx*dx+dy*dy) / (2 * float64(u.Sigma) * float64(u.Sigma)))
					sx, sy := min(p.W-1, max(0, x+dx)), min(p.H-1, max(0, y+dy))
					blur += w * float64(p.Pix[sy*p.W+sx])
					sum += w
				}
			}
			v := float64(p.At(x, y))
			out.Pix[y*p.W+x] = float32(v + float64(u.Amount)*(v-blur/sum))
		}
	}
	return out
}

// TestUnsharpMask: the mask matches its definition, leaves a flat plane
// flat, overshoots on both sides of a step, does nothing at its zero
// value, and any rectangle with the mask's margin (or the plane's edge)
// around it gives the whole plane's pixels exactly: tiles are seamless.
func TestUnsharpMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := NewPlane(41, 23)
	for i := range noise.Pix {
		noise.Pix[i] = float32(rng.Float64())
	}
	for _, u := range []UnsharpMask{{0.3, 2}, {1, 0.8}, {0.5, 4}, {2, 16}} {
		whole := u.Apply(noise, image.Rect(0, 0, noise.W, noise.H))
		naive := naiveSharpen(u, noise)
		for i, v := range whole.Pix {
			if math.Abs(float64(v-naive.Pix[i])) > 1e-5 {
				t.Fatalf("%v: pixel %d is %g, the definition gives %g", u, i, v, naive.Pix[i])
			}
		}
		rad := u.Radius()
		for _, r := range []image.Rectangle{image.Rect(0, 0, 5, 5), image.Rect(10, 7, 19, 12), image.Rect(36, 18, 41, 23), image.Rect(3, 0, 4, 23)} {
			wide := r.Inset(-rad).Intersect(image.Rect(0, 0, noise.W, noise.H))
			got := u.Apply(noise.Rect(wide), r.Sub(wide.Min))
			if want := whole.Rect(r); !equalPix(got, want) {
				t.Errorf("%v: rectangle %v with its margin differs from the whole plane's pixels", u, r)
			}
		}
	}

	flat := NewPlane(9, 9)
	for i := range flat.Pix {
		flat.Pix[i] = 0.4
	}
	if got := (UnsharpMask{0.5, 2}).Apply(flat, image.Rect(0, 0, 9, 9)); !equalPix(got, flat) {
		t.Errorf("a flat plane changed: %v", got.Pix[:9])
	}
	step := NewPlane(40, 1) // 0.2 left of x=20, 0.8 from it
	for x := range step.Pix {
		step.Pix[x] = map[bool]float32{true: 0.2, false: 0.8}[x < 20]
	}
	s := UnsharpMask{0.5, 2}.Apply(step, image.Rect(0, 0, 40, 1))
	if !(s.Pix[19] < 0.2 && s.Pix[20] > 0.8) {
		t.Errorf("a step is not sharpened beside its edge: %v, %v", s.Pix[19], s.Pix[20])
	}
	if s.Pix[0] != 0.2 || s.Pix[39] != 0.8 {
		t.Errorf("a step changed far from its edge: %v, %v", s.Pix[0], s.Pix[39])
	}
	if got := (UnsharpMask{}).Apply(noise, image.Rect(2, 3, 9, 8)); !equalPix(got, noise.Rect(image.Rect(2, 3, 9, 8))) {
		t.Error("the zero mask changed the pixels")
	}
}

func equalPix(a, b Plane) bool {
	if a.W != b.W || a.H != b.H {
		return false
	}
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return false
		}
	}
	return true
}

// TestUnsharpMaskCheck: masks outside the range a weights file may hold
// are refused.
func TestUnsharpMaskCheck(t *testing.T) {
	for _, tc := range []struct {
		u  UnsharpMask
		ok bool
	}{
		{UnsharpMask{}, true},
		{UnsharpMask{0.3, 2}, true},
		{UnsharpMask{2, 16}, true},
		{UnsharpMask{0.3, 0}, false},
		{UnsharpMask{0, 2}, false},
		{UnsharpMask{-0.1, 2}, false},
		{UnsharpMask{2.5, 2}, false},
		{UnsharpMask{0.3, 17}, false},
		{UnsharpMask{float32(math.NaN()), 2}, false},
		{UnsharpMask{0.3, float32(math.Inf(1))}, false},
	} {
		err := tc.u.Check()
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), "unsharp mask") {
			t.Errorf("%v: %v, want ok %v", tc.u, err, tc.ok)
		}
	}
}
