package main

import (
	"image"
	"testing"
)

// FuzzSession drives the worker as the page's messages do, with any file
// and any tile rectangle: every step answers or errs, never panics, and a
// tile it accepts has the pixels of that rectangle.
func FuzzSession(f *testing.F) {
	weights, _ := tinyWeights(f, 2)
	f.Add(pngOf(f, noiseImage(9, 7, true)), 0, 0, 18, 14)
	f.Add(pngOf(f, noiseImage(3, 5, false)), 2, 1, 5, 9)
	f.Add([]byte("GIF89a"), -1, 0, 4, 4)
	f.Fuzz(func(t *testing.T, file []byte, x0, y0, x1, y1 int) {
		s := NewSession()
		if err := s.LoadModel("general-x2", weights); err != nil {
			t.Fatal(err)
		}
		opened, err := s.Open(1, file)
		if err != nil {
			return
		}
		size := opened.Size
		if size.X*size.Y > 1<<14 {
			return // fine, but slow to enhance here
		}
		info, err := s.Start(1, "general-x2", "auto")
		if err != nil {
			return
		}
		if info.Width != 2*size.X || info.Height != 2*size.Y {
			t.Fatalf("result %dx%d for a %v image at x2", info.Width, info.Height, size)
		}
		r := image.Rect(x0, y0, x1, y1)
		enh, err := s.Tile(1, r)
		if err != nil {
			return
		}
		if len(enh) != 4*r.Dx()*r.Dy() {
			t.Fatalf("tile %v: %d bytes", r, len(enh))
		}
		if src, err := s.Source(1); err != nil || src.Rect.Size() != size {
			t.Fatalf("source: %v, %v", src.Rect, err)
		}
	})
}
