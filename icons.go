package main

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"golang.org/x/image/vector"
)

// iconSizes are the sides of the PNG icons the web app manifest lists.
var iconSizes = []int{192, 512}

// iconPNG draws the app's icon (favicon.svg's: a blue rounded square, two
// white corner brackets growing apart) at side x side pixels. Drawn here
// rather than kept as files, so the two sizes cannot drift from each other.
func iconPNG(side int) []byte {
	f := float32(side) / 32 // favicon.svg's viewBox is 32 units wide
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	fill := func(c color.Color, path func(r *vector.Rasterizer)) {
		r := vector.NewRasterizer(side, side)
		path(r)
		r.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
	}
	// The square, rx 6.
	fill(color.RGBA{0x3b, 0x82, 0xf6, 0xff}, func(r *vector.Rasterizer) {
		const rx = 6
		r.MoveTo(rx*f, 0)
		r.LineTo((32-rx)*f, 0)
		r.QuadTo(32*f, 0, 32*f, rx*f)
		r.LineTo(32*f, (32-rx)*f)
		r.QuadTo(32*f, 32*f, (32-rx)*f, 32*f)
		r.LineTo(rx*f, 32*f)
		r.QuadTo(0, 32*f, 0, (32-rx)*f)
		r.LineTo(0, rx*f)
		r.QuadTo(0, 0, rx*f, 0)
		r.ClosePath()
	})
	// M7 25V13h4v8h8v4z and M13 7h12v12h-4v-8h-8z.
	poly := func(pts ...float32) func(r *vector.Rasterizer) {
		return func(r *vector.Rasterizer) {
			r.MoveTo(pts[0]*f, pts[1]*f)
			for i := 2; i < len(pts); i += 2 {
				r.LineTo(pts[i]*f, pts[i+1]*f)
			}
			r.ClosePath()
		}
	}
	fill(color.White, poly(7, 25, 7, 13, 11, 13, 11, 21, 19, 21, 19, 25))
	fill(color.White, poly(13, 7, 25, 7, 25, 19, 21, 19, 21, 11, 13, 11))
	var buf bytes.Buffer
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, image.Point{}, draw.Src)
	if err := png.Encode(&buf, out); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}
