//go:build js

package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// textureSize is the side of the textures an image is split into, well
// under any WebGL texture limit, and a power of two: ebiten sizes a
// texture up to one, so a piece of 1,026 pixels took a 2,048-pixel texture,
// four times its pixels' memory.
const textureSize = 1024

// side is an image as a grid of textures.
type side struct {
	pieces []piece
	w, h   int // the image's size
	ring   int // pixels of the neighbours kept around each piece
}

// piece is one texture of a side: the pixels of inner and a ring around
// them, the neighbouring pieces' pixels (or, at the image's border, its
// edge: repeated for the enhanced image, mirrored for the source, as the
// bicubic enlargement reads it). Drawn zoomed out with linear filtering,
// the pixels at inner's edge then blend with their real neighbours: a
// piece without the ring reads transparent pixels there (DrawImage clamps
// to zero), and the zoomed-out view showed a grid of lines where pieces
// meet. The source's ring of 2 holds the bicubic taps beyond the edge.
type piece struct {
	img   *ebiten.Image // inner's size plus 2*ring each way
	inner image.Rectangle
}

func newSide(w, h, ring int) side {
	s := side{w: w, h: h, ring: ring}
	n := textureSize - 2*ring
	for y := 0; y < h; y += n {
		for x := 0; x < w; x += n {
			inner := image.Rect(x, y, min(x+n, w), min(y+n, h))
			// Unmanaged: a texture of its own, not a place on an atlas
			// (which pads every image and grows by doubling).
			img := ebiten.NewImageWithOptions(image.Rect(0, 0, inner.Dx()+2*ring, inner.Dy()+2*ring), &ebiten.NewImageOptions{Unmanaged: true})
			s.pieces = append(s.pieces, piece{img, inner})
		}
	}
	return s
}

// clampRange returns the range of positions in [lo, hi) whose position
// clamped into [0, n) lies in [a, b): a run, as clamping is monotonic.
func clampRange(lo, hi, n, a, b int) (int, int) {
	first, last := hi, lo
	for p := lo; p < hi; p++ {
		if c := min(max(p, 0), n-1); c >= a && c < b {
			first, last = min(first, p), max(last, p+1)
		}
	}
	return first, last
}

// write copies premultiplied RGBA pixels of rectangle r into the pieces
// and their rings of one pixel, the image's edge repeated.
func (s side) write(r image.Rectangle, pix []byte) {
	for _, p := range s.pieces {
		ring := p.inner.Inset(-1)
		x0, x1 := clampRange(ring.Min.X, ring.Max.X, s.w, r.Min.X, r.Max.X)
		y0, y1 := clampRange(ring.Min.Y, ring.Max.Y, s.h, r.Min.Y, r.Max.Y)
		if x0 >= x1 || y0 >= y1 {
			continue
		}
		buf := make([]byte, 4*(x1-x0)*(y1-y0))
		for y := y0; y < y1; y++ {
			sy := min(max(y, 0), s.h-1) - r.Min.Y
			for x := x0; x < x1; x++ {
				sx := min(max(x, 0), s.w-1) - r.Min.X
				copy(buf[4*((y-y0)*(x1-x0)+x-x0):][:4], pix[4*(sy*r.Dx()+sx):][:4])
			}
		}
		sub := image.Rect(x0, y0, x1, y1).Sub(ring.Min)
		p.img.SubImage(sub).(*ebiten.Image).WritePixels(buf)
	}
}

// mirror maps a position beyond [0, n) back into it as MATLAB's bicubic
// pads an image: -1 is 0, -2 is 1, n is n-1.
func mirror(p, n int) int {
	for p < 0 || p >= n {
		if p < 0 {
			p = -p - 1
		}
		if p >= n {
			p = 2*n - 1 - p
		}
	}
	return p
}

// writeRows copies full-width rows [y0, y0+len/width) of premultiplied
// RGBA into the pieces and their rings, the image's edge mirrored.
func (s side) writeRows(y0 int, pix []byte) {
	y1 := y0 + len(pix)/(4*s.w)
	for _, p := range s.pieces {
		tw, th := p.inner.Dx()+2*s.ring, p.inner.Dy()+2*s.ring
		// The texture's rows whose source rows are among these, in runs.
		for ty := 0; ty < th; {
			in := func(ty int) bool {
				sy := mirror(p.inner.Min.Y-s.ring+ty, s.h)
				return sy >= y0 && sy < y1
			}
			if !in(ty) {
				ty++
				continue
			}
			t1 := ty
			for t1 < th && in(t1) {
				t1++
			}
			buf := make([]byte, 4*tw*(t1-ty))
			for y := ty; y < t1; y++ {
				src := pix[4*s.w*(mirror(p.inner.Min.Y-s.ring+y, s.h)-y0):][:4*s.w]
				row := buf[4*tw*(y-ty):][:4*tw]
				for x := 0; x < tw; x++ {
					copy(row[4*x:][:4], src[4*mirror(p.inner.Min.X-s.ring+x, s.w):][:4])
				}
			}
			p.img.SubImage(image.Rect(0, ty, tw, t1)).(*ebiten.Image).WritePixels(buf)
			ty = t1
		}
	}
}

// draw draws the side at a zoom and offset, scale output pixels to each
// of its pixels: each piece's inner pixels, the ring only read by the
// filter. With a shader (the source's bicubic), the shader samples it;
// else nearest filtering from 1:1 up and linear below.
func (s side) draw(dst *ebiten.Image, zoom, offX, offY float64, scale int, shader *ebiten.Shader) {
	filter := ebiten.FilterLinear
	if zoom >= 1 {
		filter = ebiten.FilterNearest
	}
	// No mipmaps: ebiten draws a piece zoomed out below 1/2 from a
	// smaller copy of its texture, whose edge texels the ring no longer
	// covers, so a dark line crossed the view where pieces meet at Fit on
	// large images (and the source's shader side has none either: both
	// sides of the compare view are filtered alike).
	op := &ebiten.DrawTrianglesOptions{Filter: filter, Address: ebiten.AddressUnsafe, DisableMipmaps: true}
	f := zoom * float64(scale)
	r := float32(s.ring)
	for _, p := range s.pieces {
		dx0, dy0 := float32(float64(p.inner.Min.X)*f+offX), float32(float64(p.inner.Min.Y)*f+offY)
		dx1, dy1 := float32(float64(p.inner.Max.X)*f+offX), float32(float64(p.inner.Max.Y)*f+offY)
		sx1, sy1 := r+float32(p.inner.Dx()), r+float32(p.inner.Dy())
		vs := []ebiten.Vertex{
			{DstX: dx0, DstY: dy0, SrcX: r, SrcY: r, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
			{DstX: dx1, DstY: dy0, SrcX: sx1, SrcY: r, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
			{DstX: dx0, DstY: dy1, SrcX: r, SrcY: sy1, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
			{DstX: dx1, DstY: dy1, SrcX: sx1, SrcY: sy1, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		}
		is := []uint16{0, 1, 2, 1, 2, 3}
		if shader != nil {
			dst.DrawTrianglesShader(vs, is, shader, &ebiten.DrawTrianglesShaderOptions{Images: [4]*ebiten.Image{p.img}})
			continue
		}
		dst.DrawTriangles(vs, is, p.img, op)
	}
}

func (s side) dispose() {
	for _, p := range s.pieces {
		p.img.Deallocate()
	}
}

// update is pixels waiting to be drawn: a region of the enhanced image,
// or full-width rows of the source from row y0.
type update struct {
	r      image.Rectangle
	pix    []byte
	source bool
	y0     int
}

// bicubicShader draws the source enlarged as MATLAB's bicubic does (Keys'
// cubic, a = -0.5, 4x4 taps; the piece's ring holds the mirrored edge):
// the left of the compare view, computed here from the input's pixels, so
// that neither the workers nor this viewer hold an enlargement of it.
// Its colours are premultiplied, as the textures are.
const bicubicShader = `//kage:unit pixels
package main

func cubic(x float) float {
	x = abs(x)
	if x < 1 {
		return (1.5*x-2.5)*x*x + 1
	}
	if x < 2 {
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

func row(p vec2, w vec4) vec4 {
	return w.x*imageSrc0UnsafeAt(p+vec2(-0.5, 0)) + w.y*imageSrc0UnsafeAt(p+vec2(0.5, 0)) +
		w.z*imageSrc0UnsafeAt(p+vec2(1.5, 0)) + w.w*imageSrc0UnsafeAt(p+vec2(2.5, 0))
}

func Fragment(dstPos vec4, srcPos vec2, color vec4) vec4 {
	o := imageSrc0Origin()
	p := srcPos - o - 0.5
	b := floor(p)
	f := p - b
	wx := vec4(cubic(f.x+1), cubic(f.x), cubic(1-f.x), cubic(2-f.x))
	wy := vec4(cubic(f.y+1), cubic(f.y), cubic(1-f.y), cubic(2-f.y))
	q := o + b
	c := wy.x*row(q+vec2(0, -0.5), wx) + wy.y*row(q+vec2(0, 0.5), wx) +
		wy.z*row(q+vec2(0, 1.5), wx) + wy.w*row(q+vec2(0, 2.5), wx)
	c = clamp(c, 0, 1)
	return vec4(min(c.rgb, vec3(c.a)), c.a)
}
`

// flushEvery is how often tiles that arrived are drawn.
const flushEvery = 400 * time.Millisecond

// viewer is the ebiten game.
type viewer struct {
	mu         sync.Mutex // guards pending and flushTimer: the page fills pending between frames
	pending    []update
	flushTimer *time.Timer  // a frame is asked for when it fires
	reset      *image.Point // a new image size to start over with
	resetScale int          // and its scale
	command    string       // "fit" or "actual", from the page

	w, h             int // image size; 0 before the first image
	scale            int // the image's pixels for each of the source's
	enhanced, source side
	bicubic          *ebiten.Shader
	zoom, offX, offY float64
	divider          float64 // screen x of the divider, as a fraction of the width
	screenW, screenH int
	drag             string // "", "pan" or "divider"
	lastX, lastY     int
	pinchDist        float64
	fitted           bool
	dirty            bool            // the whole screen must be redrawn
	damage           image.Rectangle // else this part of it (new tiles)
	lastFlush        time.Time
}

func newViewer() *viewer {
	sh, err := ebiten.NewShader([]byte(bicubicShader))
	if err != nil {
		panic(err) // the shader is part of this program
	}
	return &viewer{divider: 0.5, zoom: 1, dirty: true, bicubic: sh}
}

// Open starts a new image of w x h, enlarged scale times from its source
// (called by the page).
func (v *viewer) Open(w, h, scale int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reset, v.resetScale, v.pending = &image.Point{w, h}, max(1, scale), nil
	ebiten.ScheduleFrame()
}

// Put queues a region of the enhanced image, as RGBA without
// premultiplication.
func (v *viewer) Put(r image.Rectangle, enhanced []byte) {
	premultiply(enhanced)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending = append(v.pending, update{r: r, pix: enhanced})
	v.scheduleFlush()
}

// Source queues full-width rows of the source image from row y0, as RGBA
// without premultiplication: the compare view enlarges it itself.
func (v *viewer) Source(y0 int, rows []byte) {
	premultiply(rows)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending = append(v.pending, update{source: true, y0: y0, pix: rows})
	v.scheduleFlush()
}

// scheduleFlush asks for a frame when the tiles waiting are due (called
// with mu held).
func (v *viewer) scheduleFlush() {
	if v.flushTimer != nil {
		return
	}
	wait := flushEvery - time.Since(v.lastFlush)
	v.flushTimer = time.AfterFunc(max(0, wait), func() {
		v.mu.Lock()
		v.flushTimer = nil
		v.mu.Unlock()
		ebiten.ScheduleFrame()
	})
}

// ViewState is what the viewer shows: the image size, its zoom, where its
// top-left corner is on the screen, and the divider's place as a fraction
// of the width.
type ViewState struct {
	W, H             int
	Zoom, OffX, OffY float64
	Divider          float64
}

// State returns the current view (for the page and its tests). The game
// loop and the page share one thread, so no lock is needed for these.
func (v *viewer) State() ViewState {
	return ViewState{v.w, v.h, v.zoom, v.offX, v.offY, v.divider}
}

// Command asks for "fit" or "actual" (1:1).
func (v *viewer) Command(c string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.command = c
	ebiten.ScheduleFrame()
}

func premultiply(p []byte) {
	for i := 0; i+3 < len(p); i += 4 {
		if a := uint32(p[i+3]); a != 255 {
			p[i] = uint8((uint32(p[i])*a + 127) / 255)
			p[i+1] = uint8((uint32(p[i+1])*a + 127) / 255)
			p[i+2] = uint8((uint32(p[i+2])*a + 127) / 255)
		}
	}
}

// Update applies what the page sent and the person's input (ebiten calls it
// every tick).
func (v *viewer) Update() error {
	v.mu.Lock()
	// Tiles arriving are shown at most every flushEvery: each redraw costs
	// CPU where WebGL is software-rendered, CPU the workers need.
	var pending []update
	if time.Since(v.lastFlush) >= flushEvery {
		pending, v.pending = v.pending, nil
		v.lastFlush = time.Now()
	} else if len(v.pending) > 0 {
		v.scheduleFlush()
	}
	reset, scale, command := v.reset, v.resetScale, v.command
	v.reset, v.command = nil, ""
	v.mu.Unlock()
	if reset != nil || command != "" {
		v.dirty = true
	}
	if reset != nil {
		v.enhanced.dispose()
		v.source.dispose()
		v.w, v.h, v.scale = reset.X, reset.Y, scale
		v.enhanced = newSide(v.w, v.h, 1)
		v.source = newSide(max(1, v.w/scale), max(1, v.h/scale), 2)
		v.fitted = false
	}
	for _, u := range pending {
		switch {
		case v.w == 0:
		case u.source:
			if len(u.pix)%(4*v.source.w) == 0 && u.y0 >= 0 && u.y0+len(u.pix)/(4*v.source.w) <= v.source.h {
				v.source.writeRows(u.y0, u.pix)
				v.dirty = true
			}
		default: // new tiles redraw only their part of the screen, right of the divider
			v.enhanced.write(u.r, u.pix)
			right := image.Rect(int(v.divider*float64(v.screenW)), 0, v.screenW, v.screenH)
			v.damage = v.damage.Union(v.onScreen(u.r).Intersect(right))
		}
	}
	if v.w == 0 || v.screenW == 0 {
		return nil
	}
	if !v.fitted || command == "fit" || inpututil.IsKeyJustPressed(ebiten.KeyF) || inpututil.IsKeyJustPressed(ebiten.Key0) {
		v.fit()
	}
	if command == "actual" || inpututil.IsKeyJustPressed(ebiten.Key1) {
		v.zoomAround(1/v.zoom, float64(v.screenW)/2, float64(v.screenH)/2)
	}
	before := [4]float64{v.zoom, v.offX, v.offY, v.divider}
	v.handleMouse()
	v.handleTouches()
	if before != [4]float64{v.zoom, v.offX, v.offY, v.divider} {
		v.dirty = true
	}
	return nil
}

// onScreen returns the screen pixels that show image rectangle r, with a
// pixel more on every side for linear filtering's reach.
func (v *viewer) onScreen(r image.Rectangle) image.Rectangle {
	return image.Rect(
		int(math.Floor(v.offX+float64(r.Min.X)*v.zoom))-1, int(math.Floor(v.offY+float64(r.Min.Y)*v.zoom))-1,
		int(math.Ceil(v.offX+float64(r.Max.X)*v.zoom))+1, int(math.Ceil(v.offY+float64(r.Max.Y)*v.zoom))+1,
	).Intersect(image.Rect(0, 0, v.screenW, v.screenH))
}

// fit shows the whole image, centred.
func (v *viewer) fit() {
	v.zoom = math.Min(float64(v.screenW)/float64(v.w), float64(v.screenH)/float64(v.h))
	v.offX = (float64(v.screenW) - v.zoom*float64(v.w)) / 2
	v.offY = (float64(v.screenH) - v.zoom*float64(v.h)) / 2
	v.fitted = true
}

// zoomAround multiplies the zoom by f, keeping the image point under the
// screen point (x, y) in place.
func (v *viewer) zoomAround(f, x, y float64) {
	nz := math.Max(1.0/64, math.Min(64, v.zoom*f))
	f = nz / v.zoom
	v.offX = x - (x-v.offX)*f
	v.offY = y - (y-v.offY)*f
	v.zoom = nz
}

func (v *viewer) nearDivider(x int) bool {
	return math.Abs(float64(x)-v.divider*float64(v.screenW)) <= 8
}

func (v *viewer) press(x, y int) {
	v.drag = "pan"
	if v.nearDivider(x) {
		v.drag = "divider"
	}
	v.lastX, v.lastY = x, y
}

func (v *viewer) move(x, y int) {
	switch v.drag {
	case "divider":
		v.divider = math.Max(0, math.Min(1, float64(x)/float64(v.screenW)))
	case "pan":
		v.offX += float64(x - v.lastX)
		v.offY += float64(y - v.lastY)
	}
	v.lastX, v.lastY = x, y
}

func (v *viewer) handleMouse() {
	x, y := ebiten.CursorPosition()
	if _, dy := ebiten.Wheel(); dy != 0 {
		// A mouse notch reports several units, a trackpad fractions:
		// at most 1.5x per frame either way.
		v.zoomAround(math.Pow(1.15, math.Max(-3, math.Min(3, dy))), float64(x), float64(y))
	}
	if inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft) {
		v.press(x, y)
	} else if ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) {
		v.move(x, y)
	} else if len(ebiten.AppendTouchIDs(nil)) == 0 {
		v.drag = ""
	}
	if v.drag == "divider" || (v.drag == "" && v.nearDivider(x)) {
		ebiten.SetCursorShape(ebiten.CursorShapeEWResize)
	} else {
		ebiten.SetCursorShape(ebiten.CursorShapeDefault)
	}
}

func (v *viewer) handleTouches() {
	ids := ebiten.AppendTouchIDs(nil)
	switch len(ids) {
	case 1:
		x, y := ebiten.TouchPosition(ids[0])
		if inpututil.IsTouchJustReleased(ids[0]) || v.pinchDist != 0 || v.drag == "" {
			v.press(x, y)
			v.pinchDist = 0
		} else {
			v.move(x, y)
		}
	case 2:
		x0, y0 := ebiten.TouchPosition(ids[0])
		x1, y1 := ebiten.TouchPosition(ids[1])
		d := math.Hypot(float64(x1-x0), float64(y1-y0))
		if v.pinchDist > 0 && d > 0 {
			v.zoomAround(d/v.pinchDist, float64(x0+x1)/2, float64(y0+y1)/2)
		}
		v.pinchDist, v.drag = d, ""
	default:
		v.pinchDist = 0
	}
}

var (
	background  = color.RGBA{0x20, 0x22, 0x26, 0xff}
	dividerLine = color.RGBA{0xff, 0xff, 0xff, 0xe0}
)

// Draw redraws only what changed: the screen keeps its pixels between
// frames (SetScreenClearedEveryFrame(false)), so an idle viewer costs no GPU
// work, and a tile that arrives redraws only its own part of the screen.
// This matters where WebGL is software-rendered and the compute workers
// need the CPU.
func (v *viewer) Draw(screen *ebiten.Image) {
	region := v.damage
	if v.dirty {
		region = screen.Bounds()
	}
	v.dirty, v.damage = false, image.Rectangle{}
	if !region.Empty() {
		v.drawRegion(screen, region)
	}
}

// drawRegion draws the part d of the screen: background, both sides of the
// divider, then the divider and the labels, every drawing clipped to d.
func (v *viewer) drawRegion(screen *ebiten.Image, d image.Rectangle) {
	dst := screen.SubImage(d).(*ebiten.Image)
	dst.Fill(background)
	if v.w == 0 {
		return
	}
	split := int(v.divider * float64(v.screenW))
	left := screen.SubImage(image.Rect(0, 0, split, v.screenH).Intersect(d)).(*ebiten.Image)
	right := screen.SubImage(image.Rect(split, 0, v.screenW, v.screenH).Intersect(d)).(*ebiten.Image)
	var shader *ebiten.Shader
	if v.zoom*float64(v.scale) >= 1 { // the source magnified: bicubic; else linear
		shader = v.bicubic
	}
	v.source.draw(left, v.zoom, v.offX, v.offY, v.scale, shader)
	v.enhanced.draw(right, v.zoom, v.offX, v.offY, 1, nil)
	vector.DrawFilledRect(dst, float32(split)-1, 0, 2, float32(v.screenH), dividerLine, false)
	vector.DrawFilledCircle(dst, float32(split), float32(v.screenH)/2, 9, dividerLine, true)
	if v.scale > 1 { // not for the chosen image's preview, the same both sides
		ebitenutil.DebugPrintAt(dst, "Bicubic", 8, 6)
		ebitenutil.DebugPrintAt(dst, "Enhanced", v.screenW-60, 6)
	}
	ebitenutil.DebugPrintAt(dst, fmt.Sprintf("%.0f%%", v.zoom*100), 8, v.screenH-20)
}

// Layout makes the screen the frame's size, refitting a fitted image.
func (v *viewer) Layout(w, h int) (int, int) {
	if w != v.screenW || h != v.screenH {
		v.screenW, v.screenH = w, h
		v.dirty = true
		if v.w > 0 && v.fitted {
			v.fit()
		}
	}
	return w, h
}
