package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"path"
	"strings"
	"time"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// Saver is the saving worker's state: results being written as PNG while
// their rows arrive (so that the file is ready when the compute ends, and
// the page never holds a result's pixels), and zip files being put
// together. Like Session, it is plain Go, tested natively.
type Saver struct {
	saves map[int]*imaging.PNGStream
	zips  map[int]*zipFile
}

type zipFile struct {
	buf   bytes.Buffer
	w     *zip.Writer
	names map[string]bool
}

// NewSaver returns an empty saver.
func NewSaver() *Saver {
	return &Saver{saves: map[int]*imaging.PNGStream{}, zips: map[int]*zipFile{}}
}

// Start begins result id, width x height: RGB unless it has transparency.
func (s *Saver) Start(id, width, height int, opaque bool) error {
	if int64(width)*int64(height) > MaxOutputPixels {
		return fmt.Errorf("save: a %dx%d result is over the page's limit", width, height)
	}
	st, err := imaging.NewPNGStream(width, height, opaque)
	if err != nil {
		return err
	}
	s.saves[id] = st
	return nil
}

// Rows takes the next whole rows of result id (non-premultiplied RGBA).
func (s *Saver) Rows(id int, rgba []byte) error {
	st, ok := s.saves[id]
	if !ok {
		return fmt.Errorf("save: no result %d is being saved", id)
	}
	return st.WriteRows(rgba)
}

// Finish returns result id as a PNG once every row has arrived, shrunk
// first to toWidth x toHeight with MATLAB's antialiased bicubic (as the
// command line's -width and -height) when that size is given and differs.
// The saver forgets the result.
func (s *Saver) Finish(id, toWidth, toHeight int) ([]byte, error) {
	st, ok := s.saves[id]
	if !ok {
		return nil, fmt.Errorf("save: no result %d is being saved", id)
	}
	file, err := st.Bytes()
	if err != nil {
		return nil, err
	}
	delete(s.saves, id)
	cfg, err := png.DecodeConfig(bytes.NewReader(file))
	if err != nil {
		return nil, err
	}
	if toWidth <= 0 || toHeight <= 0 || (toWidth == cfg.Width && toHeight == cfg.Height) {
		return file, nil
	}
	if int64(toWidth)*int64(toHeight) > MaxOutputPixels {
		return nil, fmt.Errorf("save: cannot make %dx%d", toWidth, toHeight)
	}
	img, err := decodeNRGBA(file)
	if err != nil {
		return nil, err
	}
	return encode(imaging.ResizeNRGBA(img, toWidth, toHeight), "png", 0)
}

// Cancel forgets result id.
func (s *Saver) Cancel(id int) { delete(s.saves, id) }

// Convert re-encodes a finished PNG as the command line writes format
// "png" or "jpeg" (at quality, 1-100).
func Convert(file []byte, format string, quality int) ([]byte, error) {
	if format == "png" {
		return file, nil
	}
	if format != "jpeg" {
		return nil, fmt.Errorf("convert: unknown format %q", format)
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("convert: JPEG quality %d, want 1 to 100", quality)
	}
	img, err := decodeNRGBA(file)
	if err != nil {
		return nil, err
	}
	return encode(img, format, quality)
}

// decodeNRGBA reads a PNG of the saver's as non-premultiplied RGBA, the
// pixels the command line encodes.
func decodeNRGBA(file []byte) (*image.NRGBA, error) {
	img, _, err := imaging.Decode(bytes.NewReader(file), MaxOutputPixels)
	if err != nil {
		return nil, err
	}
	if n, ok := img.(*image.NRGBA); ok {
		return n, nil
	}
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	return n, nil
}

func encode(img *image.NRGBA, format string, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := imaging.EncodeQuality(&buf, img, format, quality); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ZipAdd adds a file to zip id (started by its first file), stored as it
// is: the images are compressed already. A name used before gets " (2)",
// " (3)"... before its extension.
func (s *Saver) ZipAdd(id int, name string, file []byte) error {
	z, ok := s.zips[id]
	if !ok {
		z = &zipFile{names: map[string]bool{}}
		z.w = zip.NewWriter(&z.buf)
		s.zips[id] = z
	}
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 2; z.names[name]; i++ {
		name = fmt.Sprintf("%s (%d)%s", base, i, ext)
	}
	z.names[name] = true
	w, err := z.w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: time.Now()})
	if err != nil {
		return err
	}
	_, err = w.Write(file)
	return err
}

// ZipEnd returns zip id's bytes and forgets it.
func (s *Saver) ZipEnd(id int) ([]byte, error) {
	z, ok := s.zips[id]
	if !ok {
		return nil, fmt.Errorf("zip: no file was added to zip %d", id)
	}
	delete(s.zips, id)
	if err := z.w.Close(); err != nil {
		return nil, err
	}
	return z.buf.Bytes(), nil
}
