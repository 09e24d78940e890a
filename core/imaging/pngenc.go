package imaging

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"io"
	"runtime"
	"sync"
)

// PNG encoding in bands. The image's rows are cut into bands of
// pngBandRows; each band is filtered (per row, the filter with the
// smallest sum of absolute differences, as image/png chooses) and
// compressed on its own at deflate's fastest level, ending in a sync flush
// so that the next band starts on a byte boundary. The bands' outputs,
// concatenated, are one valid deflate stream (as pigz makes them): a
// band's back-references never reach outside it. So bands compress in
// parallel, and the file's bytes do not depend on how many workers did it.

// pngBandRows is the number of rows compressed together: enough that the
// 32 KiB window and the flush cost little, few enough to spread the work.
const pngBandRows = 64

// encodeNRGBAPNG writes img as an 8-bit PNG (RGB when every pixel is
// opaque, RGBA otherwise), compressing its bands with `workers` goroutines
// (0: GOMAXPROCS).
func encodeNRGBAPNG(w io.Writer, img *image.NRGBA, workers int) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width > 1<<24 || height > 1<<24 {
		return fmt.Errorf("png: cannot encode a %dx%d image", width, height)
	}
	opaque := img.Opaque()
	bpp := 4
	if opaque {
		bpp = 3
	}
	bands := (height + pngBandRows - 1) / pngBandRows
	out := make([][]byte, bands)
	sums := make([]hashPart, bands)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	errs := make([]error, bands)
	for range min(workers, bands) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				y0, y1 := i*pngBandRows, min(height, (i+1)*pngBandRows)
				out[i], sums[i], errs[i] = compressBand(img, y0, y1, bpp, i == bands-1)
			}
		}()
	}
	for i := range bands {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(pngHeader(width, height, opaque))
	adler := uint32(1)
	for i := range out {
		adler = adler32Combine(adler, sums[i].adler, sums[i].n)
		bw.Write(bandChunk(out[i], i == 0, i == bands-1, adler))
	}
	return bw.Flush()
}

// The file's layout, the same whether its bands were compressed at once
// (encodeNRGBAPNG) or as rows arrived (PNGStream): the signature and IHDR,
// one IDAT chunk per band (the first starting with the zlib header, the
// last ending with the Adler-32 of all filtered rows), IEND.

// pngHeader is the PNG signature and the IHDR chunk of an 8-bit RGB
// (opaque) or RGBA image.
func pngHeader(width, height int, opaque bool) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 8 // bit depth
	ihdr[9] = 6 // RGBA
	if opaque {
		ihdr[9] = 2 // RGB
	}
	writeChunk(&buf, "IHDR", ihdr[:])
	return buf.Bytes()
}

// bandChunk is the IDAT chunk of one compressed band: after the zlib
// header (deflate, 32 KiB window, fastest level) for the first, and
// followed by the Adler-32 of every band's filtered rows for the last; the
// IEND chunk follows the last.
func bandChunk(band []byte, first, last bool, adler uint32) []byte {
	var data []byte
	if first {
		data = append(data, 0x78, 0x01)
	}
	data = append(data, band...)
	if last {
		data = binary.BigEndian.AppendUint32(data, adler)
	}
	var buf bytes.Buffer
	writeChunk(&buf, "IDAT", data)
	if last {
		writeChunk(&buf, "IEND", nil)
	}
	return buf.Bytes()
}

// PNGStream encodes an image as PNG while its rows arrive, top to bottom:
// each band of rows is filtered and compressed as soon as it is complete,
// so a result is saved while the rest of it is still being computed, and
// only the compressed file and one band are held. The bytes are exactly
// those the one-shot encoder (Encode with "png") writes for the same
// pixels when it picks the same colour type (RGB for opaque images).
type PNGStream struct {
	width, height int
	bpp           int
	out           bytes.Buffer
	window        *image.NRGBA // the row above the band, then the band's rows
	rows          int          // rows of the band in window
	y             int          // image rows received
	band          int          // bands written
	adler         uint32
}

// NewPNGStream starts a width x height PNG: RGB if opaque (alpha is then
// dropped), else RGBA.
func NewPNGStream(width, height int, opaque bool) (*PNGStream, error) {
	if width <= 0 || height <= 0 || width > 1<<24 || height > 1<<24 {
		return nil, fmt.Errorf("png: cannot encode a %dx%d image", width, height)
	}
	s := &PNGStream{width: width, height: height, bpp: 4, adler: 1,
		window: image.NewNRGBA(image.Rect(0, 0, width, pngBandRows+1))}
	if opaque {
		s.bpp = 3
	}
	s.out.Write(pngHeader(width, height, opaque))
	return s, nil
}

// WriteRows takes the next whole rows of the image, as non-premultiplied
// RGBA (4 bytes a pixel, width pixels a row).
func (s *PNGStream) WriteRows(pix []byte) error {
	stride := 4 * s.width
	if len(pix)%stride != 0 {
		return fmt.Errorf("png: %d bytes are not whole rows of %d pixels", len(pix), s.width)
	}
	if s.y+len(pix)/stride > s.height {
		return fmt.Errorf("png: more than the image's %d rows", s.height)
	}
	for len(pix) > 0 {
		// Row 0 of the window is the row above the band (none for the
		// first band); the band's rows follow.
		first := 1
		if s.band == 0 {
			first = 0
		}
		n := min(pngBandRows-s.rows, len(pix)/stride)
		copy(s.window.Pix[(first+s.rows)*stride:], pix[:n*stride])
		s.rows += n
		s.y += n
		pix = pix[n*stride:]
		if s.rows == pngBandRows || s.y == s.height {
			if err := s.flushBand(first); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *PNGStream) flushBand(first int) error {
	last := s.y == s.height
	data, sum, err := compressBand(s.window, first, first+s.rows, s.bpp, last)
	if err != nil {
		return err
	}
	s.adler = adler32Combine(s.adler, sum.adler, sum.n)
	s.out.Write(bandChunk(data, s.band == 0, last, s.adler))
	stride := 4 * s.width
	copy(s.window.Pix[:stride], s.window.Pix[(first+s.rows-1)*stride:][:stride])
	s.band++
	s.rows = 0
	return nil
}

// Done reports whether every row has been written.
func (s *PNGStream) Done() bool { return s.y == s.height }

// Bytes returns the file once every row has been written.
func (s *PNGStream) Bytes() ([]byte, error) {
	if !s.Done() {
		return nil, fmt.Errorf("png: %d of %d rows written", s.y, s.height)
	}
	return s.out.Bytes(), nil
}

func totalLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// hashPart is the Adler-32 of n bytes.
type hashPart struct {
	adler uint32
	n     int
}

// compressBand filters rows [y0, y1) (each row's filter reads the row
// above, in the image even across bands) and deflates them, ending with a
// sync flush, or with the final block when last.
func compressBand(img *image.NRGBA, y0, y1, bpp int, last bool) ([]byte, hashPart, error) {
	width := img.Bounds().Dx()
	rowLen := 1 + width*bpp
	raw := make([]byte, rowLen*(y1-y0))
	prev := make([]byte, width*bpp)
	cur := make([]byte, width*bpp)
	if y0 > 0 {
		packRow(img, y0-1, bpp, prev)
	}
	var cand [5][]byte
	for f := range cand {
		cand[f] = make([]byte, width*bpp)
	}
	for y := y0; y < y1; y++ {
		packRow(img, y, bpp, cur)
		f := filterRow(cur, prev, bpp, &cand)
		dst := raw[(y-y0)*rowLen:][:rowLen]
		dst[0] = byte(f)
		copy(dst[1:], cand[f])
		prev, cur = cur, prev
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) / 2)
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, hashPart{}, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, hashPart{}, err
	}
	if last {
		err = zw.Close()
	} else {
		err = zw.Flush()
	}
	return buf.Bytes(), hashPart{adler32.Checksum(raw), len(raw)}, err
}

// packRow writes row y of img as RGB or RGBA bytes.
func packRow(img *image.NRGBA, y, bpp int, dst []byte) {
	b := img.Bounds()
	src := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:4*b.Dx()]
	if bpp == 4 {
		copy(dst, src)
		return
	}
	for i, j := 0, 0; i < len(src); i, j = i+4, j+3 {
		dst[j], dst[j+1], dst[j+2] = src[i], src[i+1], src[i+2]
	}
}

// filterRow computes the five PNG filters of cur (prev is the row above,
// zeros for the first) into cand and returns the one whose bytes, read as
// signed, have the smallest sum of absolute values.
func filterRow(cur, prev []byte, bpp int, cand *[5][]byte) int {
	none, sub, up, avg, paeth := cand[0][:len(cur)], cand[1][:len(cur)], cand[2][:len(cur)], cand[3][:len(cur)], cand[4][:len(cur)]
	prev = prev[:len(cur)]
	copy(none, cur)
	var sums [5]int
	for i, x := range cur {
		var a, c byte
		if i >= bpp {
			a, c = cur[i-bpp], prev[i-bpp]
		}
		b := prev[i]
		fs, fu, fa, fp := x-a, x-b, x-byte((int(a)+int(b))/2), x-paethPredictor(a, b, c)
		sub[i], up[i], avg[i], paeth[i] = fs, fu, fa, fp
		sums[0] += absSigned(x)
		sums[1] += absSigned(fs)
		sums[2] += absSigned(fu)
		sums[3] += absSigned(fa)
		sums[4] += absSigned(fp)
	}
	best := 0
	for f := 1; f < 5; f++ {
		if sums[f] < sums[best] {
			best = f
		}
	}
	return best
}

// absSigned is |v| for the byte read as a signed number.
func absSigned(v byte) int {
	s := int(int8(v))
	m := s >> 63
	return (s ^ m) - m
}

// paethPredictor is PNG's Paeth predictor of a (left), b (up), c (up-left).
func paethPredictor(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// adler32Combine returns the Adler-32 of the concatenation of two byte
// strings from their checksums and the second's length (zlib's
// adler32_combine).
func adler32Combine(a1, a2 uint32, len2 int) uint32 {
	const base = 65521
	rem := uint32(len2 % base)
	sum1 := a1 & 0xffff
	sum2 := (rem * sum1) % base
	sum1 += (a2 & 0xffff) + base - 1
	sum2 += (a1 >> 16) + (a2 >> 16) + base - rem
	if sum1 >= base {
		sum1 -= base
	}
	if sum1 >= base {
		sum1 -= base
	}
	if sum2 >= 2*base {
		sum2 -= 2 * base
	}
	if sum2 >= base {
		sum2 -= base
	}
	return sum2<<16 | sum1
}

// writeChunk writes one PNG chunk: length, type, data, CRC-32 of type and
// data.
func writeChunk(w io.Writer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	w.Write(hdr[:])
	w.Write(data)
	w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}
