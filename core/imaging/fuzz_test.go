package imaging

import (
	"bytes"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzMaxPixels keeps decoded fuzz inputs small.
const fuzzMaxPixels = 1 << 16

// imageSeeds are small files of every accepted format, with alpha and
// with EXIF orientation: the seed corpus of FuzzDecode beside the files in
// testdata/fuzz/FuzzDecode.
func imageSeeds(tb testing.TB) [][]byte {
	opaque := testImage(5, 3)
	alpha := testImage(4, 4)
	alpha.SetNRGBA(1, 1, color.NRGBA{10, 20, 30, 0})
	var seeds [][]byte
	enc := func(f func(*bytes.Buffer) error) {
		var buf bytes.Buffer
		if err := f(&buf); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	enc(func(b *bytes.Buffer) error { return png.Encode(b, opaque) })
	enc(func(b *bytes.Buffer) error { return png.Encode(b, alpha) })
	enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, opaque, &jpeg.Options{Quality: 50}) })
	enc(func(b *bytes.Buffer) error { return gif.Encode(b, opaque, nil) })
	enc(func(b *bytes.Buffer) error { return bmp.Encode(b, alpha) })
	enc(func(b *bytes.Buffer) error { return tiff.Encode(b, opaque, nil) })
	jpg := seeds[2]
	seeds = append(seeds, withOrientation(jpg, 6, false), withOrientation(jpg, 8, true))
	return seeds
}

// FuzzDecode: any bytes give an image within the limit or an error, never
// a panic; a decoded image splits into planes of its size.
func FuzzDecode(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(bytes.NewReader(data), fuzzMaxPixels)
		if err != nil {
			if img != nil {
				t.Fatal("an image and an error")
			}
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx()*b.Dy() > fuzzMaxPixels || format == "" {
			t.Fatalf("decoded a %v %s image", b, format)
		}
		p := Split(img, false)
		if p.C[0].W != b.Dx() || p.C[0].H != b.Dy() {
			t.Fatalf("planes %dx%d for a %v image", p.C[0].W, p.C[0].H, b)
		}
	})
}

// FuzzJPEGQuality: any bytes give a quality from 1 to 100 or none, never a
// panic.
func FuzzJPEGQuality(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if q, ok := JPEGQuality(data); ok && (q < 1 || q > 100) {
			t.Fatalf("quality %d", q)
		}
	})
}
