package imaging

import (
	"bytes"
	"hash/adler32"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestBandedPNG: the banded encoder's files decode to the image exactly,
// opaque (RGB) or not (RGBA), for sizes around the band height, and their
// bytes do not depend on the number of workers.
func TestBandedPNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range []struct {
		w, h  int
		alpha bool
	}{{1, 1, false}, {3, 1, true}, {1, 200, false}, {17, pngBandRows, true}, {40, pngBandRows + 1, false}, {123, 3*pngBandRows - 5, true}} {
		img := image.NewNRGBA(image.Rect(0, 0, tc.w, tc.h))
		for y := 0; y < tc.h; y++ {
			for x := 0; x < tc.w; x++ {
				i := img.PixOffset(x, y)
				// smooth with noise, so that every filter gets chosen somewhere
				img.Pix[i] = uint8(x*3 + y)
				img.Pix[i+1] = uint8(rng.IntN(256))
				img.Pix[i+2] = uint8(y * 5)
				img.Pix[i+3] = 255
				if tc.alpha {
					img.Pix[i+3] = uint8(rng.IntN(256))
				}
			}
		}
		var one, many bytes.Buffer
		if err := encodeNRGBAPNG(&one, img, 1); err != nil {
			t.Fatal(err)
		}
		if err := encodeNRGBAPNG(&many, img, 3); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(one.Bytes(), many.Bytes()) {
			t.Fatalf("%dx%d: the bytes depend on the workers", tc.w, tc.h)
		}
		// Streamed in uneven runs of rows: the same bytes.
		st, err := NewPNGStream(tc.w, tc.h, !tc.alpha)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < tc.h; {
			n := min(tc.h-y, 1+rng.IntN(90))
			if err := st.WriteRows(img.Pix[y*img.Stride : (y+n)*img.Stride]); err != nil {
				t.Fatal(err)
			}
			if y += n; st.Done() != (y == tc.h) {
				t.Fatalf("%dx%d: Done() after %d rows", tc.w, tc.h, y)
			}
		}
		if streamed, err := st.Bytes(); err != nil || !bytes.Equal(streamed, one.Bytes()) {
			t.Fatalf("%dx%d: the stream's file differs from the one-shot encoder's (%v)", tc.w, tc.h, err)
		}
		got, err := png.Decode(&one)
		if err != nil {
			t.Fatalf("%dx%d: %v", tc.w, tc.h, err)
		}
		for y := 0; y < tc.h; y++ {
			for x := 0; x < tc.w; x++ {
				r, g, b, a := got.At(x, y).RGBA()
				want := img.NRGBAAt(x, y)
				if tc.alpha {
					n, ok := got.(*image.NRGBA)
					if !ok {
						t.Fatalf("%dx%d: decoded as %T, want NRGBA", tc.w, tc.h, got)
					}
					if n.NRGBAAt(x, y) != want {
						t.Fatalf("%dx%d: pixel (%d, %d) %v, want %v", tc.w, tc.h, x, y, n.NRGBAAt(x, y), want)
					}
					continue
				}
				if uint8(r>>8) != want.R || uint8(g>>8) != want.G || uint8(b>>8) != want.B || a != 0xffff {
					t.Fatalf("%dx%d: pixel (%d, %d) differs", tc.w, tc.h, x, y)
				}
			}
		}
	}
	if err := encodeNRGBAPNG(&bytes.Buffer{}, image.NewNRGBA(image.Rect(0, 0, 0, 5)), 1); err == nil {
		t.Error("encoded an empty image")
	}
}

// TestPNGStreamErrors: rows that do not fit, and a file asked for early.
func TestPNGStreamErrors(t *testing.T) {
	if _, err := NewPNGStream(0, 4, true); err == nil {
		t.Error("started an empty image")
	}
	st, err := NewPNGStream(3, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		pix  []byte
	}{{"part of a row", make([]byte, 5)}, {"too many rows", make([]byte, 3*12)}} {
		if err := st.WriteRows(c.pix); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if err := st.WriteRows(make([]byte, 12)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Bytes(); err == nil {
		t.Error("a file after 1 of 2 rows")
	}
}

func TestAdler32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, n := range [][2]int{{0, 0}, {1, 0}, {0, 7}, {5, 70000}, {100000, 3}, {65521, 65521}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		for i := range b {
			b[i] = 255
		}
		want := adler32.Checksum(append(append([]byte(nil), a...), b...))
		if got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Errorf("%v: combined %08x, want %08x", n, got, want)
		}
	}
}

// BenchmarkEncodePNG compares image/png's default and fastest levels with
// the banded encoder (one worker and all cores) on a 1024x1024 result:
// UPSCALER_BENCH_IMAGE names a real one (any format), else a synthetic
// smooth image with noise stands in. It reports MP/s and the file's bytes.
func BenchmarkEncodePNG(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	if path := os.Getenv("UPSCALER_BENCH_IMAGE"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		src, _, err := Decode(f, 0)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		img = image.NewNRGBA(src.Bounds())
		draw.Draw(img, img.Rect, src, src.Bounds().Min, draw.Src)
	} else {
		rng := rand.New(rand.NewPCG(35, 36))
		for i := range img.Pix {
			img.Pix[i] = uint8(i/4%1024/8 + rng.IntN(12))
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
	}
	mp := float64(img.Rect.Dx()*img.Rect.Dy()) / 1e6
	for _, tc := range []struct {
		name string
		enc  func(io.Writer) error
	}{
		{"image-png-default", func(w io.Writer) error { return png.Encode(w, img) }},
		{"image-png-fastest", func(w io.Writer) error { return pngEncoder.Encode(w, img) }},
		{"banded/workers=1", func(w io.Writer) error { return encodeNRGBAPNG(w, img, 1) }},
		{"banded/all-cores", func(w io.Writer) error { return encodeNRGBAPNG(w, img, 0) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := tc.enc(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(mp*float64(b.N)/b.Elapsed().Seconds(), "MP/s")
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
