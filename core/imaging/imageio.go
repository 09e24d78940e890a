package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	_ "image/gif" // registers GIF
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp" // registers BMP
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest input image accepted unless the caller
// says otherwise: 64 megapixels.
const DefaultMaxPixels = 64_000_000

// MaxFileBytes bounds how much of a file Decode reads.
const MaxFileBytes = 512 << 20

// ErrUnsupported is returned for data that is not an image in a format this
// package reads.
var ErrUnsupported = errors.New("not an image in a supported format (PNG, JPEG, GIF, BMP, TIFF or WebP)")

// Decode reads an image, refusing before any large allocation one whose
// header claims more than maxPixels pixels (0: DefaultMaxPixels). A JPEG's
// EXIF orientation is applied, so the result is upright. It returns the
// format name ("png", "jpeg", ...).
func Decode(r io.Reader, maxPixels int) (image.Image, string, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > MaxFileBytes {
		return nil, "", fmt.Errorf("file is larger than %d MiB", MaxFileBytes>>20)
	}
	if len(data) == 0 {
		return nil, "", fmt.Errorf("empty file: %w", ErrUnsupported)
	}
	if err := checkTIFFTags(data); err != nil {
		return nil, "", err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, "", ErrUnsupported
	}
	if err != nil {
		return nil, "", fmt.Errorf("corrupt or truncated image header: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", fmt.Errorf("corrupt %s image: size %dx%d", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, "", fmt.Errorf("%s image is %dx%d (%.1f megapixels), over the limit of %.1f megapixels",
			format, cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(maxPixels)/1e6)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("corrupt or truncated %s image: %v", format, err)
	}
	if format == "jpeg" {
		img = Orient(img, jpegOrientation(data))
	}
	return img, format, nil
}

// tiffTypeSizes are the byte sizes of TIFF field types 1 to 12.
var tiffTypeSizes = [13]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8}

// checkTIFFTags refuses a TIFF whose first directory, a tag's data, or a
// strip or tile lies beyond the end of the file. image.DecodeConfig hands
// x/image/tiff a reader without ReadAt, for which it buffers the file up
// to the furthest offset asked: a 261-byte file pointing 4 GB ahead made
// it allocate 4 GB (found by FuzzDecode). Other data passes.
func checkTIFFTags(data []byte) error {
	var bo binary.ByteOrder
	switch {
	case len(data) >= 8 && string(data[:4]) == "II*\x00":
		bo = binary.LittleEndian
	case len(data) >= 8 && string(data[:4]) == "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil
	}
	size := uint64(len(data))
	beyond := func(what string, end uint64) error {
		return fmt.Errorf("corrupt TIFF image: %s ends at byte %d of a %d-byte file", what, end, size)
	}
	off := uint64(bo.Uint32(data[4:8]))
	if off+2 > size {
		return beyond("its directory", off+2)
	}
	n := uint64(bo.Uint16(data[off:]))
	if off+2+12*n > size {
		return beyond("its directory", off+2+12*n)
	}
	for i := uint64(0); i < n; i++ {
		e := data[off+2+12*i:][:12]
		tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), uint64(bo.Uint32(e[4:]))
		if int(typ) >= len(tiffTypeSizes) || typ == 0 {
			continue // the decoder refuses unknown types
		}
		length := count * tiffTypeSizes[typ]
		at := uint64(8) // where the value is: in the entry, or at an offset
		if length > 4 {
			at = uint64(bo.Uint32(e[8:]))
			if at+length > size {
				return beyond(fmt.Sprintf("tag %d", tag), at+length)
			}
		}
		// Strip and tile offsets (273, 324) must lie in the file too.
		if (tag == 273 || tag == 324) && (typ == 3 || typ == 4) {
			vals := e[8:12]
			if length > 4 {
				vals = data[at : at+length]
			}
			for j := uint64(0); j < count; j++ {
				var v uint64
				if typ == 3 {
					v = uint64(bo.Uint16(vals[2*j:]))
				} else {
					v = uint64(bo.Uint32(vals[4*j:]))
				}
				if v > size {
					return beyond("a strip or tile", v)
				}
			}
		}
	}
	return nil
}

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG file, or 1
// when it has none or it cannot be read.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return 1
		}
		size := int(binary.BigEndian.Uint16(data[i+2:]))
		if size < 2 || i+2+size > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+size]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return exifOrientation(seg[6:])
		}
		i += 2 + size
	}
	return 1
}

// exifOrientation reads tag 0x0112 from the first IFD of a TIFF structure.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[ifd:]))
	for e := 0; e < n; e++ {
		p := ifd + 2 + 12*e
		if p+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[p:]) == 0x0112 {
			if v := int(bo.Uint16(t[p+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// Orient returns img transformed so that an image stored with EXIF
// orientation o (1..8) shows upright. Orientation 1 returns img as is.
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+4*dx:][:4], src.Pix[y*src.Stride+4*x:][:4])
		}
	}
	return dst
}

// imageExts are the file endings of the formats Decode reads.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".bmp": true,
	".gif": true, ".tif": true, ".tiff": true, ".webp": true}

// IsImageFile reports whether a file name ends as an image Decode reads does.
func IsImageFile(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

// FormatForPath picks the output format from a file name: "jpeg" for .jpg
// and .jpeg, "png" for .png; anything else is an error.
func FormatForPath(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return "png", nil
	case ".jpg", ".jpeg":
		return "jpeg", nil
	}
	return "", fmt.Errorf("cannot tell the output format from %q: use .png, .jpg or .jpeg", filepath.Base(path))
}

// DefaultJPEGQuality is the quality of JPEG outputs unless a caller says
// otherwise.
const DefaultJPEGQuality = 95

// pngEncoder writes PNGs of other image types at deflate's fastest level,
// as encodeNRGBAPNG writes the NRGBA results: on a 1-megapixel result it
// takes a fifth of the default level's time (0.59 s -> 0.10-0.13 s here)
// for files about 14% larger, and encoding was half of the command line's
// time.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

// Encode writes img as PNG or JPEG (quality DefaultJPEGQuality).
func Encode(w io.Writer, img image.Image, format string) error {
	return EncodeQuality(w, img, format, DefaultJPEGQuality)
}

// EncodeQuality writes img as PNG, or as JPEG at quality (1-100).
func EncodeQuality(w io.Writer, img image.Image, format string, quality int) error {
	switch format {
	case "png":
		if nrgba, ok := img.(*image.NRGBA); ok {
			return encodeNRGBAPNG(w, nrgba, 0)
		}
		return pngEncoder.Encode(w, img)
	case "jpeg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
	}
	return fmt.Errorf("unknown output format %q", format)
}
