package core

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"sync"
)

// DefaultTile is the side, in output pixels, of the tiles an image is cut into.
const DefaultTile = 256

// Enhancer upscales images with a model: bicubic pre-upsampling, then the
// network, tile by tile. Each tile is computed with a halo as wide as the
// network's receptive radius, so tiled output equals whole-image output
// exactly while memory stays bounded by the tile size. It is safe for
// concurrent use.
type Enhancer struct {
	Model *Model // nil: bicubic only
	Scale int
	Tile  int // output tile side; 0 means DefaultTile

	pool sync.Pool // *inferer
}

// NewEnhancer returns an enhancer for a model trained at scale.
func NewEnhancer(m *Model, scale int) *Enhancer {
	return &Enhancer{Model: m, Scale: scale}
}

func (e *Enhancer) tile() int {
	if e.Tile > 0 {
		return e.Tile
	}
	return DefaultTile
}

// Tiles cuts a w x h output into tiles, row by row.
func (e *Enhancer) Tiles(w, h int) []image.Rectangle {
	t := e.tile()
	var rs []image.Rectangle
	for y := 0; y < h; y += t {
		for x := 0; x < w; x += t {
			rs = append(rs, image.Rect(x, y, min(x+t, w), min(y+t, h)))
		}
	}
	return rs
}

// Region returns the model's output planes over the output rectangle r for
// low-resolution planes lr ([channels], the model's channels), whose
// output is hrW x hrH.
func (e *Enhancer) Region(lr []Plane, hrW, hrH int, r image.Rectangle) []Plane {
	if e.Model == nil {
		out := make([]Plane, len(lr))
		for c := range lr {
			out[c] = ResizeRegion(lr[c], hrW, hrH, Bicubic, r)
		}
		return out
	}
	rad := e.Model.Config.Radius()
	ext := image.Rect(r.Min.X-rad, r.Min.Y-rad, r.Max.X+rad, r.Max.Y+rad).Intersect(image.Rect(0, 0, hrW, hrH))
	w, h := ext.Dx(), ext.Dy()
	x := make([]float32, len(lr)*w*h)
	for c := range lr {
		copy(x[c*w*h:], ResizeRegion(lr[c], hrW, hrH, Bicubic, ext).Pix)
	}
	f, _ := e.pool.Get().(*inferer)
	if f == nil {
		f = newInferer(e.Model)
	}
	y := f.run(x, h, w)
	out := make([]Plane, len(lr))
	ox, oy := r.Min.X-ext.Min.X, r.Min.Y-ext.Min.Y
	for c := range out {
		out[c] = NewPlane(r.Dx(), r.Dy())
		for row := 0; row < r.Dy(); row++ {
			copy(out[c].Pix[row*r.Dx():][:r.Dx()], y[c*w*h+(oy+row)*w+ox:][:r.Dx()])
		}
	}
	e.pool.Put(f)
	return out
}

// forTiles runs fn on every tile with `workers` goroutines (0: GOMAXPROCS),
// reporting progress after each tile, and stops early when ctx is done.
func (e *Enhancer) forTiles(ctx context.Context, w, h, workers int, progress func(done, total int), fn func(r image.Rectangle)) error {
	tiles := e.Tiles(w, h)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(tiles))
	next := make(chan image.Rectangle)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				fn(r)
				mu.Lock()
				done++
				if progress != nil {
					progress(done, len(tiles))
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for _, r := range tiles {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		case next <- r:
		}
	}
	close(next)
	wg.Wait()
	return err
}

// Planes upscales low-resolution planes in the model's channels and returns
// the output planes (unclamped floats).
func (e *Enhancer) Planes(ctx context.Context, lr []Plane, workers int, progress func(done, total int)) ([]Plane, error) {
	hrW, hrH := lr[0].W*e.Scale, lr[0].H*e.Scale
	out := make([]Plane, len(lr))
	for c := range out {
		out[c] = NewPlane(hrW, hrH)
	}
	err := e.forTiles(ctx, hrW, hrH, workers, progress, func(r image.Rectangle) {
		reg := e.Region(lr, hrW, hrH, r)
		for c := range out {
			for y := 0; y < r.Dy(); y++ {
				copy(out[c].Pix[(r.Min.Y+y)*hrW+r.Min.X:][:r.Dx()], reg[c].Pix[y*r.Dx():][:r.Dx()])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Prepare splits an image into the planes the enhancer works on: Y, Cb, Cr
// for a Y model (or none), R, G, B for an RGB model, and alpha if any.
func (e *Enhancer) Prepare(img image.Image) Planes {
	return Split(img, e.Model != nil && e.Model.Config.Channels == 3)
}

// OutputSize returns the size of the output for an input of w x h.
func (e *Enhancer) OutputSize(w, h int) (int, int) { return w * e.Scale, h * e.Scale }

// RenderTile computes the output pixels in r (output coordinates) for the
// planes of an input image and writes them into dst, an NRGBA image the
// size of the whole output (or at least covering r). The network runs on Y
// (or RGB); Cb, Cr and alpha are enlarged with bicubic.
func (e *Enhancer) RenderTile(p Planes, r image.Rectangle, dst *image.NRGBA) {
	hrW, hrH := e.OutputSize(p.C[0].W, p.C[0].H)
	var planes [3]Plane
	if p.RGB {
		copy(planes[:], e.Region(p.C[:], hrW, hrH, r))
	} else {
		planes[0] = e.Region(p.C[:1], hrW, hrH, r)[0]
		planes[1] = ResizeRegion(p.C[1], hrW, hrH, Bicubic, r)
		planes[2] = ResizeRegion(p.C[2], hrW, hrH, Bicubic, r)
	}
	var alpha Plane
	if p.Alpha != nil {
		alpha = ResizeRegion(*p.Alpha, hrW, hrH, Bicubic, r)
	}
	w := r.Dx()
	for y := 0; y < r.Dy(); y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):][:4*w]
		for x := 0; x < w; x++ {
			i := y*w + x
			px := row[4*x : 4*x+4 : 4*x+4]
			if p.RGB {
				px[0], px[1], px[2] = to8(float64(planes[0].Pix[i])*255), to8(float64(planes[1].Pix[i])*255), to8(float64(planes[2].Pix[i])*255)
			} else {
				px[0], px[1], px[2] = YCbCrToRGB(planes[0].Pix[i], planes[1].Pix[i], planes[2].Pix[i])
			}
			px[3] = 255
			if p.Alpha != nil {
				px[3] = to8(float64(alpha.Pix[i]) * 255)
			}
		}
	}
}

// Image upscales a whole image: the command line's path and, tile by tile
// across workers, the page's.
func (e *Enhancer) Image(ctx context.Context, img image.Image, workers int, progress func(done, total int)) (*image.NRGBA, error) {
	if e.Model != nil && e.Model.Config.Channels != 1 && e.Model.Config.Channels != 3 {
		return nil, fmt.Errorf("model has %d channels", e.Model.Config.Channels)
	}
	p := e.Prepare(img)
	w, h := e.OutputSize(p.C[0].W, p.C[0].H)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	err := e.forTiles(ctx, w, h, workers, progress, func(r image.Rectangle) { e.RenderTile(p, r, dst) })
	if err != nil {
		return nil, err
	}
	return dst, nil
}
