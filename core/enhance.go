package core

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"slices"
	"sync"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

// DefaultTile is the side, in output pixels, of the tiles an image is cut into.
const DefaultTile = 256

// Enhancer upscales images with a model: bicubic pre-upsampling, then the
// network, tile by tile. Each tile is computed with a halo as wide as the
// network's receptive radius, so tiled output equals whole-image output
// exactly while memory stays bounded by the tile size. It is safe for
// concurrent use.
type Enhancer struct {
	Model *network.Model // nil: bicubic only
	Scale int
	Tile  int // output tile side; 0 means DefaultTile
	// Strength is the denoise strength (0-1) fed to a model that takes
	// one (Config.Strength); other models ignore it.
	Strength float32

	pool sync.Pool // *Inferer
}

// NewEnhancer returns an enhancer for a model trained at scale.
func NewEnhancer(m *network.Model, scale int) *Enhancer {
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

// regionFunc computes the network's output planes over output rectangle
// r for low-resolution planes lr, whose output is hrW x hrH, and the
// bicubic enlargement over r.
type regionFunc func(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane)

// Region returns the model's output planes over the output rectangle r for
// low-resolution planes lr ([channels], the model's channels), whose
// output is hrW x hrH, and the bicubic enlargement over r that the network
// started from. A model that sharpens its output (Config.Sharpen) is run
// over r widened by the mask's radius, so tiles still make the whole
// image's pixels.
func (e *Enhancer) Region(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane) {
	return e.sharpened(e.region)(lr, hrW, hrH, r)
}

// sharpening is the mask the model applies to its output (zero: none).
func (e *Enhancer) sharpening() imaging.UnsharpMask {
	if e.Model == nil {
		return imaging.UnsharpMask{}
	}
	return e.Model.Config.Sharpen
}

// widened is output rectangle r with the margin the model's sharpening
// reads, inside the hrW x hrH output.
func (e *Enhancer) widened(r image.Rectangle, hrW, hrH int) image.Rectangle {
	return r.Inset(-e.sharpening().Radius()).Intersect(image.Rect(0, 0, hrW, hrH))
}

// sharpened runs region over r widened (see widened) and sharpens the
// network's planes back to r; region itself for a model that does not
// sharpen.
func (e *Enhancer) sharpened(region regionFunc) regionFunc {
	u := e.sharpening()
	if u.Radius() == 0 {
		return region
	}
	return func(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane) {
		wide := e.widened(r, hrW, hrH)
		out, bicubic = region(lr, hrW, hrH, wide)
		inner := r.Sub(wide.Min)
		for c := range out {
			out[c] = u.Apply(out[c], inner)
			bicubic[c] = bicubic[c].Rect(inner)
		}
		return out, bicubic
	}
}

// region is Region before the model's sharpening.
func (e *Enhancer) region(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane) {
	if e.Model == nil {
		out = make([]imaging.Plane, len(lr))
		for c := range lr {
			out[c] = imaging.ResizeRegion(lr[c], hrW, hrH, imaging.Bicubic, r)
		}
		return out, out
	}
	if e.Model.Config.LowRes() {
		return e.regionLowRes(lr, hrW, hrH, r)
	}
	rad := e.Model.Config.Radius()
	ext := image.Rect(r.Min.X-rad, r.Min.Y-rad, r.Max.X+rad, r.Max.Y+rad).Intersect(image.Rect(0, 0, hrW, hrH))
	w, h := ext.Dx(), ext.Dy()
	x := imaging.ResizeRegion(lr[0], hrW, hrH, imaging.Bicubic, ext).Pix
	if len(lr) > 1 {
		x = slices.Grow(x, (len(lr)-1)*w*h)
		for _, p := range lr[1:] {
			x = append(x, imaging.ResizeRegion(p, hrW, hrH, imaging.Bicubic, ext).Pix...)
		}
	}
	inner := r.Sub(ext.Min) // r inside ext
	bicubic = cropPlanes(x, w, h, len(lr), inner)
	f, _ := e.pool.Get().(*network.Inferer)
	if f == nil {
		f = network.NewInferer(e.Model)
	}
	out = f.Run(x, h, w, network.EdgesOf(ext, hrW, hrH)).Crop(inner)
	e.pool.Put(f)
	return out, bicubic
}

// NetInput is what a network at the input's resolution reads for one
// output tile: its input planes over the low-resolution cells under the
// tile with a halo of the network's radius (the strength plane last, if
// it reads one), where they lie, and which of their sides lie on the
// image border (there each layer replicates its input's edge).
type NetInput struct {
	X     []float32       // [inputs][H][W]
	W, H  int             // the size of each plane
	Ext   image.Rectangle // where X lies, in low-resolution pixels
	Edges network.Edges
}

// TileInput returns the network's input for output rectangle r of an
// image's planes (see Prepare), for running the network elsewhere (a GPU)
// and handing its output to RenderTileFrom. Networks at the input's
// resolution only.
func (e *Enhancer) TileInput(p imaging.Planes, r image.Rectangle) NetInput {
	hrW, hrH := e.OutputSize(p.C[0].W, p.C[0].H)
	r = e.widened(r, hrW, hrH)
	if p.RGB {
		return e.netInput(p.C[:], r)
	}
	return e.netInput(p.C[:1], r)
}

// netInput gathers the input of a network at the input's resolution for
// output rectangle r of low-resolution planes lr.
func (e *Enhancer) netInput(lr []imaging.Plane, r image.Rectangle) NetInput {
	s, rad := e.Model.Config.Shuffle, e.Model.Config.Radius()
	lrW, lrH := lr[0].W, lr[0].H
	cells := image.Rect(r.Min.X/s, r.Min.Y/s, (r.Max.X+s-1)/s, (r.Max.Y+s-1)/s)
	ext := cells.Inset(-rad).Intersect(image.Rect(0, 0, lrW, lrH))
	w, h := ext.Dx(), ext.Dy()
	x := make([]float32, 0, e.Model.Config.Inputs()*w*h)
	for _, p := range lr {
		for y := ext.Min.Y; y < ext.Max.Y; y++ {
			x = append(x, p.Pix[y*p.W+ext.Min.X:][:w]...)
		}
	}
	if e.Model.Config.Strength {
		for range w * h {
			x = append(x, e.Strength)
		}
	}
	return NetInput{X: x, W: w, H: h, Ext: ext, Edges: network.EdgesOf(ext, lrW, lrH)}
}

// regionLowRes is Region for a network at the input's resolution: the
// network runs on the low-resolution cells under r with a halo of its
// radius, and netOutput makes the output pixels of its result.
func (e *Enhancer) regionLowRes(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane) {
	in := e.netInput(lr, r)
	f, _ := e.pool.Get().(*network.Inferer)
	if f == nil {
		f = network.NewInferer(e.Model)
	}
	out, bicubic = e.netOutput(lr, hrW, hrH, r, in, f.Run(in.X, in.H, in.W, in.Edges))
	e.pool.Put(f)
	return out, bicubic
}

// netOutput makes the output pixels in r from the network's result net
// over in: depth-to-space spreads each cell's outputs over its s x s
// output pixels, and the anchor is added: the bicubic enlargement, or the
// input pixel itself for the repeated-input anchor.
func (e *Enhancer) netOutput(lr []imaging.Plane, hrW, hrH int, r image.Rectangle, in NetInput, net network.Maps) (out, bicubic []imaging.Plane) {
	s := e.Model.Config.Shuffle
	lrW := lr[0].W
	ext := in.Ext
	bicubic = make([]imaging.Plane, len(lr))
	for c := range lr {
		bicubic[c] = imaging.ResizeRegion(lr[c], hrW, hrH, imaging.Bicubic, r)
	}
	off := ext.Min.Add(net.Rect.Min) // the image's cell of net's pixel (0, 0)
	out = make([]imaging.Plane, len(lr))
	residual, repeat := e.Model.Config.Residual, e.Model.Config.RepeatAnchor()
	var base [8]int // per dx, where this output row's cells start in net
	for c := range out {
		o := imaging.NewPlane(r.Dx(), r.Dy())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			cy, dy := y/s, y%s
			for dx := range s {
				base[dx] = net.Pixel(c*s*s+dy*s+dx, -off.X, cy-off.Y)
			}
			row := o.Pix[(y-r.Min.Y)*o.W:][:o.W]
			anchor := bicubic[c].Pix[(y-r.Min.Y)*o.W:][:o.W]
			input := lr[c].Pix[cy*lrW:][:lrW]
			cx, dx := r.Min.X/s, r.Min.X%s
			for i := range row {
				v := net.Data[base[dx]+cx]
				switch {
				case repeat:
					v += input[cx]
				case residual:
					v += anchor[i]
				}
				row[i] = v
				if dx++; dx == s {
					dx, cx = 0, cx+1
				}
			}
		}
		out[c] = o
	}
	return out, bicubic
}

// cropPlanes copies rectangle r out of n planes of w x h stored one after
// the other.
func cropPlanes(data []float32, w, h, n int, r image.Rectangle) []imaging.Plane {
	out := make([]imaging.Plane, n)
	for c := range out {
		out[c] = imaging.NewPlane(r.Dx(), r.Dy())
		for row := 0; row < r.Dy(); row++ {
			copy(out[c].Pix[row*r.Dx():][:r.Dx()], data[c*w*h+(r.Min.Y+row)*w+r.Min.X:][:r.Dx()])
		}
	}
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
func (e *Enhancer) Planes(ctx context.Context, lr []imaging.Plane, workers int, progress func(done, total int)) ([]imaging.Plane, error) {
	hrW, hrH := lr[0].W*e.Scale, lr[0].H*e.Scale
	out := make([]imaging.Plane, len(lr))
	for c := range out {
		out[c] = imaging.NewPlane(hrW, hrH)
	}
	err := e.forTiles(ctx, hrW, hrH, workers, progress, func(r image.Rectangle) {
		reg, _ := e.Region(lr, hrW, hrH, r)
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
func (e *Enhancer) Prepare(img image.Image) imaging.Planes {
	return imaging.Split(img, e.Model != nil && e.Model.Config.Channels == 3)
}

// OutputSize returns the size of the output for an input of w x h.
func (e *Enhancer) OutputSize(w, h int) (int, int) { return w * e.Scale, h * e.Scale }

// RenderTile computes the output pixels in r (output coordinates) for the
// planes of an input image and writes them into dst, an NRGBA image the
// size of the whole output (or at least covering r). The network runs on Y
// (or RGB); Cb, Cr and alpha are enlarged with bicubic.
func (e *Enhancer) RenderTile(p imaging.Planes, r image.Rectangle, dst *image.NRGBA) {
	e.renderTile(p, r, dst, e.Region)
}

// RenderTileFrom is RenderTile with the network run elsewhere: net is its
// result for TileInput(p, r) (see network.NewMaps), which this turns into
// output pixels exactly as RenderTile does its own.
func (e *Enhancer) RenderTileFrom(p imaging.Planes, r image.Rectangle, dst *image.NRGBA, in NetInput, net network.Maps) {
	e.renderTile(p, r, dst, e.sharpened(func(lr []imaging.Plane, hrW, hrH int, r image.Rectangle) (out, bicubic []imaging.Plane) {
		return e.netOutput(lr, hrW, hrH, r, in, net)
	}))
}

// renderTile writes the pixels in r, the network's planes from region.
func (e *Enhancer) renderTile(p imaging.Planes, r image.Rectangle, dst *image.NRGBA, region regionFunc) {
	hrW, hrH := e.OutputSize(p.C[0].W, p.C[0].H)
	var enh [3]imaging.Plane
	if p.RGB {
		o, _ := region(p.C[:], hrW, hrH, r)
		copy(enh[:], o)
	} else {
		o, _ := region(p.C[:1], hrW, hrH, r)
		enh[0] = o[0]
		enh[1] = imaging.ResizeRegion(p.C[1], hrW, hrH, imaging.Bicubic, r)
		enh[2] = imaging.ResizeRegion(p.C[2], hrW, hrH, imaging.Bicubic, r)
	}
	var alpha *imaging.Plane
	if p.Alpha != nil {
		a := imaging.ResizeRegion(*p.Alpha, hrW, hrH, imaging.Bicubic, r)
		alpha = &a
	}
	imaging.WriteNRGBA(dst, r, enh, alpha, p.RGB)
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
