package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 40), uint8(y * 40), 200, 255})
		}
	}
	return img
}

func TestDecodeFormats(t *testing.T) {
	img := testImage(6, 4)
	encoders := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, img) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) },
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, img) },
		"tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, img, nil) },
	}
	for name, enc := range encoders {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		got, format, err := Decode(&buf, 0)
		if err != nil || format != name || got.Bounds().Dx() != 6 || got.Bounds().Dy() != 4 {
			t.Errorf("%s: format %q, bounds %v, err %v", name, format, got.Bounds(), err)
		}
	}
}

// pngClaim returns the start of a PNG file whose header claims w x h.
func pngClaim(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	crc := crc32IEEE(append([]byte("IHDR"), ihdr...))
	binary.Write(&b, binary.BigEndian, crc)
	return b.Bytes()
}

func TestDecodeBadInput(t *testing.T) {
	var good bytes.Buffer
	png.Encode(&good, testImage(40, 30))
	cases := []struct {
		name      string
		data      []byte
		maxPixels int
		want      string
	}{
		{"empty", nil, 0, "not an image"},
		{"text", []byte("hello, this is not an image"), 0, "not an image"},
		{"truncated png", good.Bytes()[:len(good.Bytes())/2], 0, "corrupt or truncated"},
		{"header only", good.Bytes()[:20], 0, "corrupt or truncated"},
		{"huge claim", pngClaim(100000, 100000), 0, "over the limit"},
		{"over a small limit", good.Bytes(), 1000, "over the limit of 0.0 megapixels"},
		{"zero size", pngClaim(0, 10), 0, "corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(bytes.NewReader(tc.data), tc.maxPixels)
			if err == nil || img != nil {
				t.Fatalf("decoded bad input (err %v)", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if _, _, err := Decode(strings.NewReader("plain text"), 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("text: err %v, want ErrUnsupported", err)
	}
}

// withOrientation inserts an EXIF APP1 segment with the orientation tag
// right after a JPEG's start-of-image marker.
func withOrientation(jpg []byte, o uint16, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	tiffHdr := []byte("II*\x00")
	if bigEndian {
		bo, tiffHdr = binary.BigEndian, []byte("MM\x00*")
	}
	t := append([]byte{}, tiffHdr...)
	t = bo.AppendUint32(t, 8) // IFD0 offset
	t = bo.AppendUint16(t, 1) // one entry
	t = bo.AppendUint16(t, 0x0112)
	t = bo.AppendUint16(t, 3) // SHORT
	t = bo.AppendUint32(t, 1) // count
	t = bo.AppendUint16(t, o) // value
	t = bo.AppendUint16(t, 0) // padding
	t = bo.AppendUint32(t, 0) // next IFD
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestDecodeAppliesEXIFOrientation(t *testing.T) {
	// A 16x8 image, white on its left half and black on its right half.
	src := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			src.Set(x, y, color.White)
		}
		for x := 8; x < 16; x++ {
			src.Set(x, y, color.Black)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	// Where the white half ends up: which corner is bright.
	cases := []struct {
		o        uint16
		w, h     int
		brightAt image.Point
		darkAt   image.Point
	}{
		{1, 16, 8, image.Pt(1, 4), image.Pt(14, 4)},
		{2, 16, 8, image.Pt(14, 4), image.Pt(1, 4)}, // mirrored
		{3, 16, 8, image.Pt(14, 4), image.Pt(1, 4)}, // rotated 180
		{6, 8, 16, image.Pt(4, 1), image.Pt(4, 14)}, // rotated 90 clockwise: left half goes to the top
		{8, 8, 16, image.Pt(4, 14), image.Pt(4, 1)}, // rotated 90 counter-clockwise
	}
	for _, tc := range cases {
		for _, big := range []bool{false, true} {
			img, _, err := Decode(bytes.NewReader(withOrientation(buf.Bytes(), tc.o, big)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("orientation %d: size %v, want %dx%d", tc.o, b, tc.w, tc.h)
			}
			bright, _, _, _ := img.At(tc.brightAt.X, tc.brightAt.Y).RGBA()
			dark, _, _, _ := img.At(tc.darkAt.X, tc.darkAt.Y).RGBA()
			if bright < 0xc000 || dark > 0x4000 {
				t.Errorf("orientation %d (big endian %v): bright %x at %v, dark %x at %v", tc.o, big, bright, tc.brightAt, dark, tc.darkAt)
			}
		}
	}
}

func TestFormatForPath(t *testing.T) {
	for path, want := range map[string]string{"a.png": "png", "B.JPG": "jpeg", "c.jpeg": "jpeg", "d.gif": "", "e": ""} {
		got, err := FormatForPath(path)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q, %v", path, got, err)
		}
	}
}
func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// TestDecodeTIFFTagBomb: a 261-byte TIFF (found by FuzzDecode) whose tag
// claims 4 GB made x/image/tiff allocate them; it is refused first.
func TestDecodeTIFFTagBomb(t *testing.T) {
	data, err := os.ReadFile("testdata/bigtag.tiff")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = Decode(bytes.NewReader(data), 0)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "corrupt TIFF") {
		t.Errorf("error %v, want a corrupt TIFF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("decoding it allocated %d MB", got>>20)
	}
}
