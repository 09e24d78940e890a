package imaging

import (
	"image"
	"image/color"
	"math"
)

// Colour conversion is ITU-R BT.601 "studio swing" as MATLAB's rgb2ycbcr
// and ycbcr2rgb: Y in [16, 235], Cb and Cr in [16, 240], on the 0..255
// scale. Planes hold these values divided by 255.

// RGBToYCbCr returns the Y, Cb and Cr of an 8-bit RGB colour on the 0..1 scale.
func RGBToYCbCr(r, g, b uint8) (y, cb, cr float32) {
	R, G, B := float64(r)/255, float64(g)/255, float64(b)/255
	m := &ycbcrMatrix
	y = float32((16 + m[0][0]*R + m[0][1]*G + m[0][2]*B) / 255)
	cb = float32((128 + m[1][0]*R + m[1][1]*G + m[1][2]*B) / 255)
	cr = float32((128 + m[2][0]*R + m[2][1]*G + m[2][2]*B) / 255)
	return
}

// ycbcrMatrix maps R, G, B in 0..1 to Y, Cb, Cr on the 0..255 scale less
// their offsets (16, 128, 128); rgbMatrix is its inverse.
var (
	ycbcrMatrix = [3][3]float64{
		{65.481, 128.553, 24.966},
		{-37.797, -74.203, 112.0},
		{112.0, -93.786, -18.214},
	}
	rgbMatrix = invert3(ycbcrMatrix)
)

func invert3(m [3][3]float64) [3][3]float64 {
	var inv [3][3]float64
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// cofactor of m[j][i]
			a, b := (j+1)%3, (j+2)%3
			c, d := (i+1)%3, (i+2)%3
			inv[i][j] = (m[a][c]*m[b][d] - m[a][d]*m[b][c]) / det
		}
	}
	return inv
}

// YCbCrToRGB inverts RGBToYCbCr and rounds to 8 bits, clamping.
func YCbCrToRGB(y, cb, cr float32) (r, g, b uint8) {
	Y, Cb, Cr := float64(y)*255-16, float64(cb)*255-128, float64(cr)*255-128
	m := &rgbMatrix
	return to8(255 * (m[0][0]*Y + m[0][1]*Cb + m[0][2]*Cr)),
		to8(255 * (m[1][0]*Y + m[1][1]*Cb + m[1][2]*Cr)),
		to8(255 * (m[2][0]*Y + m[2][1]*Cb + m[2][2]*Cr))
}

// to8 rounds to the nearest integer and clamps to 0..255.
func to8(v float64) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5) // v+0.5 > 0: truncation is the floor
}

// Planes is an image split into float planes: Y, Cb, Cr (for Y models) or
// R, G, B (for RGB models), and alpha when the image has any transparency.
type Planes struct {
	C     [3]Plane
	Alpha *Plane
	RGB   bool // C holds R, G, B rather than Y, Cb, Cr
}

// Split converts an image into planes: YCbCr unless rgb is set. Colours are
// un-premultiplied first, so a transparent image keeps its colours.
func Split(img image.Image, rgb bool) Planes {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	p := Planes{RGB: rgb}
	for i := range p.C {
		p.C[i] = NewPlane(w, h)
	}
	alpha := NewPlane(w, h)
	opaque := true
	row := make([]color.NRGBA, w)
	for y := 0; y < h; y++ {
		rowNRGBA(img, b.Min.X, b.Min.Y+y, row)
		for x, c := range row {
			i := y*w + x
			if rgb {
				p.C[0].Pix[i], p.C[1].Pix[i], p.C[2].Pix[i] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
			} else {
				p.C[0].Pix[i], p.C[1].Pix[i], p.C[2].Pix[i] = RGBToYCbCr(c.R, c.G, c.B)
			}
			alpha.Pix[i] = float32(c.A) / 255
			if c.A != 255 {
				opaque = false
			}
		}
	}
	if !opaque {
		p.Alpha = &alpha
	}
	return p
}

// LumaY returns the Y plane of an image (0..1 scale), with Y rounded to an
// integer level as MATLAB's rgb2ycbcr does for 8-bit images. Evaluation and
// training use it.
func LumaY(img image.Image) Plane { return LumaYIn(img, img.Bounds()) }

// LumaYIn is LumaY of the pixels of img in r (which lies within its
// bounds).
func LumaYIn(img image.Image, r image.Rectangle) Plane {
	p := NewPlane(r.Dx(), r.Dy())
	row := make([]color.NRGBA, p.W)
	for y := 0; y < p.H; y++ {
		rowNRGBA(img, r.Min.X, r.Min.Y+y, row)
		for x, c := range row {
			R, G, B := float64(c.R), float64(c.G), float64(c.B)
			p.Pix[y*p.W+x] = float32(math.Round(16+(65.481*R+128.553*G+24.966*B)/255) / 255)
		}
	}
	return p
}

// rowNRGBA fills row with the un-premultiplied colours of image row y
// from column x0 on, as color.NRGBAModel converts them, reading the
// decoders' usual image types directly (img.At allocates for every pixel).
func rowNRGBA(img image.Image, x0, y int, row []color.NRGBA) {
	switch m := img.(type) {
	case *image.NRGBA:
		px := m.Pix[m.PixOffset(x0, y):][:4*len(row)]
		for x := range row {
			row[x] = color.NRGBA{px[4*x], px[4*x+1], px[4*x+2], px[4*x+3]}
		}
	case *image.RGBA:
		for x := range row {
			c := m.RGBAAt(x0+x, y)
			if c.A == 255 {
				row[x] = color.NRGBA{c.R, c.G, c.B, 255}
			} else {
				row[x] = color.NRGBAModel.Convert(c).(color.NRGBA)
			}
		}
	case *image.YCbCr:
		for x := range row {
			r, g, b, _ := m.YCbCrAt(x0+x, y).RGBA()
			row[x] = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
		}
	case *image.Gray:
		for x := range row {
			v := m.GrayAt(x0+x, y).Y
			row[x] = color.NRGBA{v, v, v, 255}
		}
	default:
		for x := range row {
			row[x] = color.NRGBAModel.Convert(img.At(x0+x, y)).(color.NRGBA)
		}
	}
}

// WriteNRGBA converts planes over r to 8-bit pixels of dst.
func WriteNRGBA(dst *image.NRGBA, r image.Rectangle, planes [3]Plane, alpha *Plane, rgb bool) {
	w := r.Dx()
	for y := 0; y < r.Dy(); y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):][:4*w]
		for x := 0; x < w; x++ {
			i := y*w + x
			px := row[4*x : 4*x+4 : 4*x+4]
			if rgb {
				px[0], px[1], px[2] = to8(float64(planes[0].Pix[i])*255), to8(float64(planes[1].Pix[i])*255), to8(float64(planes[2].Pix[i])*255)
			} else {
				px[0], px[1], px[2] = YCbCrToRGB(planes[0].Pix[i], planes[1].Pix[i], planes[2].Pix[i])
			}
			px[3] = 255
			if alpha != nil {
				px[3] = to8(float64(alpha.Pix[i]) * 255)
			}
		}
	}
}

// Luma8 rounds planes to 8-bit levels, as saving an image does, and returns
// their Y: the plane itself for one plane (Y), MATLAB's rounded Y of R, G,
// B for three.
func Luma8(ps []Plane) Plane {
	if len(ps) == 1 {
		q := NewPlane(ps[0].W, ps[0].H)
		for i, v := range ps[0].Pix {
			q.Pix[i] = float32(Round8(v) / 255)
		}
		return q
	}
	y := NewPlane(ps[0].W, ps[0].H)
	for i := range y.Pix {
		r, g, b := Round8(ps[0].Pix[i]), Round8(ps[1].Pix[i]), Round8(ps[2].Pix[i])
		y.Pix[i] = float32(math.Round(16+(65.481*r+128.553*g+24.966*b)/255) / 255)
	}
	return y
}

// Round8 is a 0..1 sample on the 0..255 scale, rounded and clamped.
func Round8(v float32) float64 { return math.Round(math.Min(255, math.Max(0, float64(v)*255))) }
