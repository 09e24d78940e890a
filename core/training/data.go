package training

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/degrade"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

// ListImages returns the image files under the folders, recursively, sorted.
func ListImages(dirs []string) ([]string, error) {
	var files []string
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("data folder %s: %v", dir, errors.Unwrap(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("data folder %s is not a folder", dir)
		}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && imaging.IsImageFile(path) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// LoadPlanes decodes an image file into the planes a model trains on: the
// rounded Y of MATLAB's rgb2ycbcr, or R, G and B.
func LoadPlanes(path string, channels int) ([]imaging.Plane, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := imaging.Decode(f, 0)
	if err != nil {
		return nil, err
	}
	return ImagePlanes(img, channels), nil
}

// ImagePlanes returns an image's Y (channels 1), R, G, B (3), or R, G, B
// and the Y of those planes as training makes it (4: lumaOf, once per
// image rather than once per patch).
func ImagePlanes(img image.Image, channels int) []imaging.Plane {
	if channels == 1 {
		return []imaging.Plane{imaging.LumaY(img)}
	}
	p := imaging.Split(img, true)
	if channels == 4 {
		return append(p.C[:], imaging.Luma8(p.C[:]))
	}
	return p.C[:]
}

// IsPairs reports whether a folder holds given LR/HR pairs: LR/ and HR/
// folders whose files share names.
func IsPairs(dir string) bool {
	lr, err1 := os.Stat(filepath.Join(dir, "LR"))
	hr, err2 := os.Stat(filepath.Join(dir, "HR"))
	return err1 == nil && err2 == nil && lr.IsDir() && hr.IsDir()
}

// PairLR is the path of the LR image of a pair's HR image: the same name
// in the sibling LR folder.
func PairLR(hrPath string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(hrPath)), "LR", filepath.Base(hrPath))
}

// Dataset hands out training patches from a folder of images, loading
// images lazily through a bounded cache. Low-resolution inputs are made on
// the fly with the bicubic that evaluation uses: the high-resolution crop
// is shrunk by the scale and enlarged back. A folder of given pairs
// (IsPairs) gives its LR images as they are instead: real photos, whose
// degradation is the camera's.
type Dataset struct {
	files        []string
	lrFiles      []string // per image: its given LR image, or "" to make one
	pairStrength float32  // the strength a network is told on given pairs
	sizes        []image.Point
	cumArea      []int64 // cumulative pixel counts, for sampling by area
	scale        int
	patch        int // high-resolution patch side (a multiple of scale)
	margin       int // context kept around a patch while resampling
	channels     int
	lowRes       bool // the network's input is the low-resolution patch
	repeat       bool // the anchor is the low-resolution patch repeated, not its bicubic enlargement
	jpeg         JPEGBand
	degrade      DegradeBand
	sharpen      Sharpening
	cache        *planeCache
}

// Sharpening sharpens the training targets with an unsharp mask (Amount
// times the difference from a Gaussian blur of standard deviation Sigma,
// high-resolution pixels), as Real-ESRGAN trains on sharpened ground truth:
// the network learns to deliver the crisper picture. The zero value is off.
type Sharpening struct {
	Amount, Sigma float64
}

// On reports whether targets are sharpened.
func (s Sharpening) On() bool { return s.Amount > 0 && s.Sigma > 0 }

// Op is the unsharp mask as a degrade stage.
func (s Sharpening) Op() degrade.Sharpen { return degrade.UnsharpMask(s.Sigma, s.Amount) }

// DegradeBand says how training inputs are degraded by the real-photo
// model (package degrade): a share Clean of the patches is the clean
// bicubic shrink at strength 0, the others draw a severity uniformly from
// 0 to 1, which is the strength the network is told. The zero value is off.
type DegradeBand struct {
	On    bool
	Clean float64
	Model string // the degradation model's name in degrade.Models ("": the default)
}

// JPEGBand says how training inputs are degraded by JPEG: a share Clean of
// the patches stays clean, the others are saved at a quality drawn
// uniformly from Lo to Hi. The zero value is off.
type JPEGBand struct {
	Lo, Hi int
	Clean  float64
	// Lighter is the share of degraded patches saved at a higher quality
	// than their strength says (drawn from the strength's quality to 100,
	// or left clean): a strong setting learns to treat mild artifacts gently.
	Lighter float64
}

func (j JPEGBand) on() bool { return j.Hi > 0 }

// patchSpec names one patch: which image, where, which of the eight
// flips and rotations, and, with JPEG degradation, the quality its LR
// image is saved at (0: clean), the denoise strength the network is told
// and the offset of the 8x8 block grid.
type patchSpec struct {
	img, x, y, aug int
	quality        int
	strength       float32
	gridX, gridY   int
	seed           uint64 // the degradation chain's, with -degrade
}

// OpenDataset lists the images and checks each one by decoding it once; an
// unreadable or too small image is skipped with a warning.
func OpenDataset(dirs []string, scale, patch, channels int, jpeg JPEGBand, deg DegradeBand, cacheBytes int64, warn func(string)) (*Dataset, error) {
	var files []string
	pairs := map[string]bool{} // HR images of given pairs
	for _, dir := range dirs {
		if !IsPairs(dir) {
			f, err := ListImages([]string{dir})
			if err != nil {
				return nil, err
			}
			files = append(files, f...)
			continue
		}
		hr, err := ListImages([]string{filepath.Join(dir, "HR")})
		if err != nil {
			return nil, err
		}
		for _, f := range hr {
			pairs[f] = true
		}
		files = append(files, hr...)
	}
	if len(pairs) > 0 && channels != 1 {
		return nil, fmt.Errorf("given LR/HR pairs are for networks on Y")
	}
	d := &Dataset{scale: scale, patch: patch, margin: 4 * scale, channels: channels, jpeg: jpeg, degrade: deg,
		cache: newPlaneCache(cacheBytes)}
	if jpeg.on() && deg.On {
		return nil, fmt.Errorf("JPEG degradation and the real-photo degradation are one or the other (the latter includes JPEG)")
	}
	if jpeg.on() || deg.On {
		if channels != 1 {
			return nil, fmt.Errorf("degraded inputs are for networks on Y")
		}
		// Room for shifting the block grid by up to 7 LR pixels, with the
		// bicubic support of the patch still inside the JPEG.
		d.margin = 12 * scale
	}
	need := patch + 2*d.margin
	var total int64
	for _, f := range files {
		planes, err := LoadPlanes(f, d.cacheChannels(pairs[f]))
		if err != nil {
			warn(fmt.Sprintf("skipping %s: %v", f, err))
			continue
		}
		w, h := planes[0].W, planes[0].H
		lrPath := ""
		if pairs[f] {
			lrPath = PairLR(f)
			lr, err := LoadPlanes(lrPath, 1)
			if err != nil {
				warn(fmt.Sprintf("skipping %s: its LR image: %v", f, err))
				continue
			}
			if w < lr[0].W*scale || h < lr[0].H*scale {
				warn(fmt.Sprintf("skipping %s: %dx%d is smaller than its LR image (%dx%d) at x%d", f, w, h, lr[0].W, lr[0].H, scale))
				continue
			}
			w, h = lr[0].W*scale, lr[0].H*scale // the HR image's part the LR image covers
		}
		if w < need || h < need {
			warn(fmt.Sprintf("skipping %s: %dx%d is smaller than a %dx%d training crop", f, w, h, need, need))
			continue
		}
		d.files = append(d.files, f)
		d.lrFiles = append(d.lrFiles, lrPath)
		d.sizes = append(d.sizes, image.Pt(w, h))
		total += int64(w * h)
		d.cumArea = append(d.cumArea, total)
	}
	if len(d.files) == 0 {
		return nil, fmt.Errorf("no usable training image in %s (want PNG, JPEG, BMP, GIF, TIFF or WebP images of at least %dx%d pixels)",
			strings.Join(dirs, ", "), need, need)
	}
	return d, nil
}

// ForNetwork makes patches for a network of cfg: its input the
// low-resolution patch or the bicubic enlargement, its anchor the bicubic
// enlargement or the repeated input.
func (d *Dataset) ForNetwork(cfg network.Config) {
	d.lowRes, d.repeat = cfg.LowRes(), cfg.RepeatAnchor()
}

// TellPairs sets the strength a network that reads one is told on patches
// of given pairs (real photos): the level Auto restores such photos at.
func (d *Dataset) TellPairs(strength float32) { d.pairStrength = strength }

// Pairs is the number of given LR/HR pairs among the images.
func (d *Dataset) Pairs() int {
	n := 0
	for _, f := range d.lrFiles {
		if f != "" {
			n++
		}
	}
	return n
}

// SharpenTargets makes the targets of the patches it hands out from now
// on sharpened by s (the inputs stay as they were).
func (d *Dataset) SharpenTargets(s Sharpening) { d.sharpen = s }

// Images is the number of usable images.
func (d *Dataset) Images() int { return len(d.files) }

// Area is the total number of pixels, the unit of an epoch.
func (d *Dataset) Area() int64 { return d.cumArea[len(d.cumArea)-1] }

// sample draws a patch uniformly over all pixels of all images.
func (d *Dataset) sample(rng *rand.Rand) patchSpec {
	a := rng.Int64N(d.Area())
	i := sort.Search(len(d.cumArea), func(i int) bool { return d.cumArea[i] > a })
	need := d.patch + 2*d.margin
	s := d.sizes[i]
	spec := patchSpec{img: i, x: rng.IntN(s.X - need + 1), y: rng.IntN(s.Y - need + 1), aug: rng.IntN(8)}
	if d.lrFiles[i] != "" {
		// On the LR image's pixel grid.
		spec.x, spec.y = spec.x/d.scale*d.scale, spec.y/d.scale*d.scale
		spec.strength = d.pairStrength
		return spec
	}
	if d.jpeg.on() {
		if rng.Float64() >= d.jpeg.Clean {
			spec.quality = d.jpeg.Lo + rng.IntN(d.jpeg.Hi-d.jpeg.Lo+1)
			spec.strength = core.StrengthForQuality(spec.quality)
			if d.jpeg.Lighter > 0 && rng.Float64() < d.jpeg.Lighter {
				// 101 stands for a clean input.
				if spec.quality += rng.IntN(102 - spec.quality); spec.quality > 100 {
					spec.quality = 0
				}
			}
		}
		spec.gridX, spec.gridY = rng.IntN(8), rng.IntN(8)
	}
	if d.degrade.On {
		if rng.Float64() >= d.degrade.Clean {
			spec.strength = float32(1 - rng.Float64()) // (0, 1]
		}
		spec.seed = rng.Uint64()
	}
	return spec
}

// cacheChannels is the planes kept of an image: R, G, B and their Y when
// the LR image is made as a JPEG or by the real-photo model (from RGB, as
// a real one is), else the model's. The HR image of a given pair keeps
// its Y alone: nothing is made of it.
func (d *Dataset) cacheChannels(pair bool) int {
	if !pair && (d.jpeg.on() || d.degrade.On) {
		return 4
	}
	return d.channels
}

// inputSide is the side of the network's input patch.
func (d *Dataset) inputSide() int {
	if d.lowRes {
		return d.patch / d.scale
	}
	return d.patch
}

// make builds one patch: the network's input (the low-resolution patch,
// [channels][side*side], or the bicubic enlargement), the anchor (the
// bicubic enlargement or the repeated input; nil to skip) and the target, each
// [channels][patch*patch].
func (d *Dataset) make(s patchSpec, in, anchor, target []float32) error {
	lrPath := d.lrFiles[s.img]
	planes, err := d.cache.get(d.files[s.img], d.cacheChannels(lrPath != ""))
	if err != nil {
		return err
	}
	need, p, m := d.patch+2*d.margin, d.patch, d.margin
	var hrs, lrs []imaging.Plane
	if lrPath != "" {
		lr, err := d.cache.get(lrPath, 1)
		if err != nil {
			return err
		}
		hrs = []imaging.Plane{turned(planes[0], s.x, s.y, need, s.aug)}
		lrs = []imaging.Plane{turned(lr[0], s.x/d.scale, s.y/d.scale, need/d.scale, s.aug)}
	} else {
		hrs, lrs = d.madeLR(s, planes)
	}
	if d.sharpen.On() {
		hrs = d.sharpen.Op().Apply(hrs, nil) // new planes: the inputs above were made from the crops as they were
	}
	for c, crop := range hrs {
		lr := lrs[c]
		up := imaging.Resize(lr, need, need, imaging.Bicubic)
		for y := 0; y < p; y++ {
			if !d.lowRes {
				copy(in[c*p*p+y*p:][:p], up.Pix[(y+m)*need+m:][:p])
			}
			switch {
			case anchor != nil && d.repeat:
				row := anchor[c*p*p+y*p:][:p]
				for x := range row {
					row[x] = lr.Pix[(y+m)/d.scale*lr.W+(x+m)/d.scale]
				}
			case anchor != nil:
				copy(anchor[c*p*p+y*p:][:p], up.Pix[(y+m)*need+m:][:p])
			}
			copy(target[c*p*p+y*p:][:p], crop.Pix[(y+m)*need+m:][:p])
		}
		if d.lowRes {
			ls, lm := p/d.scale, m/d.scale
			for y := 0; y < ls; y++ {
				copy(in[c*ls*ls+y*ls:][:ls], lr.Pix[(y+lm)*lr.W+lm:][:ls])
			}
		}
	}
	return nil
}

// madeLR makes the low-resolution side of a patch of an image without a
// given LR image: its crop shrunk by the bicubic, or degraded (JPEG, the
// real-photo model). It returns the high-resolution planes the targets
// come from and their LR planes.
func (d *Dataset) madeLR(s patchSpec, planes []imaging.Plane) (hrs, lrs []imaging.Plane) {
	need := d.patch + 2*d.margin
	crops := make([]imaging.Plane, len(planes))
	for c, pl := range planes {
		crops[c] = turned(pl, s.x, s.y, need, s.aug)
	}
	hrs, lrs = crops, make([]imaging.Plane, len(crops))
	switch {
	case d.degrade.On && s.strength > 0:
		chain := degrade.Models[d.degrade.Model].Draw(rand.New(rand.NewPCG(s.seed, 0)), s.strength, d.scale, need, need)
		hrs, lrs = crops[3:], []imaging.Plane{imaging.Luma8(chain.Apply(crops[:3]))}
	case d.degrade.On:
		hrs, lrs = crops[3:], []imaging.Plane{imaging.Resize(crops[3], need/d.scale, need/d.scale, imaging.Bicubic)}
	case d.jpeg.on():
		hrs = crops[3:]
		lrs = []imaging.Plane{d.jpegLR(crops[:3], crops[3], s)}
	default:
		for c, crop := range crops {
			lrs[c] = imaging.Resize(crop, need/d.scale, need/d.scale, imaging.Bicubic)
		}
	}
	return hrs, lrs
}

// turned returns the n x n square of p at (x0, y0), turned by one of the
// eight flips and rotations.
func turned(p imaging.Plane, x0, y0, n, aug int) imaging.Plane {
	c := imaging.NewPlane(n, n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			sx, sy := dihedral(x, y, n, aug)
			c.Pix[y*n+x] = p.At(x0+sx, y0+sy)
		}
	}
	return c
}

// jpegLR makes the low-resolution Y of an RGB crop (whose Y is luma):
// shrunk, and for a degraded patch saved as a JPEG at its quality (4:2:0,
// as image/jpeg writes colour) with the 8x8 grid starting at (gridX,
// gridY), decoded, and its Y taken. Pixels left of and above the grid keep the clean Y;
// they lie outside the patch and its bicubic support.
func (d *Dataset) jpegLR(rgb []imaging.Plane, luma imaging.Plane, s patchSpec) imaging.Plane {
	n := rgb[0].W / d.scale
	if s.quality == 0 {
		return imaging.Resize(luma, n, n, imaging.Bicubic)
	}
	small := make([]imaging.Plane, 3)
	for c := range small {
		small[c] = imaging.Resize(rgb[c], n, n, imaging.Bicubic)
	}
	y := imaging.Luma8(small)
	img := image.NewNRGBA(image.Rect(0, 0, n-s.gridX, n-s.gridY))
	for py := 0; py < img.Rect.Dy(); py++ {
		for px := 0; px < img.Rect.Dx(); px++ {
			o := img.PixOffset(px, py)
			for c := range small {
				img.Pix[o+c] = uint8(imaging.Round8(small[c].Pix[(py+s.gridY)*n+px+s.gridX]))
			}
			img.Pix[o+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: s.quality}); err != nil {
		panic(err) // an in-memory encode of a valid image cannot fail
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	dy := imaging.LumaY(dec)
	for py := 0; py < dy.H; py++ {
		copy(y.Pix[(py+s.gridY)*n+s.gridX:][:dy.W], dy.Pix[py*dy.W:][:dy.W])
	}
	return y
}

// dihedral maps (x, y) of an n x n square through one of the eight
// flips and rotations.
func dihedral(x, y, n, aug int) (int, int) {
	if aug&1 != 0 {
		x = n - 1 - x
	}
	if aug&2 != 0 {
		y = n - 1 - y
	}
	if aug&4 != 0 {
		x, y = y, x
	}
	return x, y
}

// planeCache keeps recently used decoded images up to a byte budget.
type planeCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	order  *list.List // front: most recent
	items  map[string]*list.Element
}

type cacheEntry struct {
	path   string
	planes []imaging.Plane
	bytes  int64
}

func newPlaneCache(budget int64) *planeCache {
	return &planeCache{budget: budget, order: list.New(), items: map[string]*list.Element{}}
}

func (c *planeCache) get(path string, channels int) ([]imaging.Plane, error) {
	c.mu.Lock()
	if e, ok := c.items[path]; ok {
		c.order.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*cacheEntry).planes, nil
	}
	c.mu.Unlock()
	planes, err := LoadPlanes(path, channels)
	if err != nil {
		return nil, err
	}
	size := int64(len(planes) * len(planes[0].Pix) * 4)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[path]; !ok {
		c.items[path] = c.order.PushFront(&cacheEntry{path, planes, size})
		c.used += size
		for c.used > c.budget && c.order.Len() > 1 {
			old := c.order.Remove(c.order.Back()).(*cacheEntry)
			delete(c.items, old.path)
			c.used -= old.bytes
		}
	}
	return planes, nil
}
