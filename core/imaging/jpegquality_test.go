package imaging

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

func jpegAt(t *testing.T, q int, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestJPEGQualityOfGoFiles: files Go's encoder wrote at every quality read
// back as that quality, colour and grey.
func TestJPEGQualityOfGoFiles(t *testing.T) {
	colour, grey := testImage(16, 16), image.NewGray(image.Rect(0, 0, 8, 8))
	for q := 1; q <= 100; q++ {
		for _, img := range []image.Image{colour, grey} {
			got, ok := JPEGQuality(jpegAt(t, q, img))
			if !ok || got != q {
				t.Errorf("%T saved at quality %d: read %d (ok %v)", img, q, got, ok)
			}
		}
	}
}

// dqtOffset returns the index of the first DQT marker in a JPEG.
func dqtOffset(t *testing.T, data []byte) int {
	t.Helper()
	i := bytes.Index(data, []byte{0xFF, 0xDB})
	if i < 0 {
		t.Fatal("no DQT segment")
	}
	return i
}

// TestJPEGQualityOddFiles: damaged, missing, 16-bit and non-standard
// tables give a sane answer or none, never a panic.
func TestJPEGQualityOddFiles(t *testing.T) {
	q50 := jpegAt(t, 50, testImage(16, 16))
	at := dqtOffset(t, q50)
	edit := func(f func(d []byte) []byte) []byte { return f(append([]byte(nil), q50...)) }
	// A 16-bit luminance table holding quality 20's values.
	wide := func() []byte {
		seg := []byte{0xFF, 0xDB, 0, 2 + 1 + 128, 0x10}
		for _, v := range ijgTables[0] {
			x := ijgScaled(v, 20, 32767)
			seg = append(seg, byte(x>>8), byte(x))
		}
		return append(append([]byte{0xFF, 0xD8}, seg...), 0xFF, 0xD9)
	}()
	// A table of its own: quality 50's values, each one more.
	custom := edit(func(d []byte) []byte {
		for i := 0; i < 64; i++ {
			d[at+5+i]++
		}
		return d
	})
	cases := []struct {
		name     string
		data     []byte
		want     int // 0: no answer
		fuzzyLow int // for non-standard tables: an answer in [fuzzyLow, want]
	}{
		{"quality 50", q50, 50, 50},
		{"empty", nil, 0, 0},
		{"PNG", []byte("\x89PNG\r\n\x1a\n0000"), 0, 0},
		{"SOI only", []byte{0xFF, 0xD8}, 0, 0},
		{"truncated in DQT", q50[:at+20], 0, 0},
		{"DQT length past the end", edit(func(d []byte) []byte { d[at+2], d[at+3] = 0xFF, 0xF0; return d }), 0, 0},
		{"bad precision", edit(func(d []byte) []byte { d[at+4] = 0x20; return d }), 0, 0},
		{"bad table id", edit(func(d []byte) []byte { d[at+4] = 0x07; return d }), 0, 0},
		{"zero length", edit(func(d []byte) []byte { d[at+2], d[at+3] = 0, 0; return d }), 0, 0},
		{"no DQT before the scan", edit(func(d []byte) []byte { d[at+1] = 0xDA; return d }), 0, 0},
		{"16-bit table", wide, 20, 20},
		{"non-standard table", custom, 50, 45},
	}
	for _, tc := range cases {
		got, ok := JPEGQuality(tc.data)
		switch {
		case tc.want == 0 && ok:
			t.Errorf("%s: read quality %d, want none", tc.name, got)
		case tc.want != 0 && (!ok || got < tc.fuzzyLow || got > tc.want):
			t.Errorf("%s: read %d (ok %v), want %d..%d", tc.name, got, ok, tc.fuzzyLow, tc.want)
		}
	}
}
