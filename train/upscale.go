package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training"
)

// upscaleJob is one input image and the file its result goes to.
type upscaleJob struct{ in, out string }

func runUpscale(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upscale", "[flags] IN OUT | IN... FOLDER", stderr)
	choice := addModelFlags(fs)
	maxMP := fs.Float64("max-mp", imaging.DefaultMaxPixels/1e6, "largest input accepted, in megapixels")
	tile := fs.Int("tile", core.DefaultTile, "tile side in output pixels")
	workers := fs.Int("workers", 0, "parallel tiles (0: all cores)")
	format := fs.String("format", "png", "output format when writing into a folder: png or jpg")
	quality := fs.Int("quality", 95, "JPEG quality, 1 to 100")
	overwrite := fs.Bool("overwrite", false, "replace existing outputs in a folder (otherwise they are skipped)")
	width := fs.Int("width", 0, "exact output width (the height follows the aspect ratio unless -height is given): the model runs at the smallest scale that reaches the size, then the result is shrunk to it; -scale is then ignored")
	height := fs.Int("height", 0, "exact output height (see -width)")
	denoise := fs.String("denoise", "auto", "restoration: auto (from each JPEG's quality and, with the estimator, how degraded its pixels look), none, low, medium, high, or a strength from 0 to 1; a hard JPEG (quality 82 or less) gets the JPEG-aware network, anything else the real-photo one")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := choice.check(); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want an input and an output file, or inputs and an output folder; got %d arguments", fs.NArg())
	}
	if !(*maxMP > 0) || *tile < 16 || *workers < 0 {
		return usagef("-max-mp must be positive, -tile at least 16, -workers at least 0")
	}
	if *quality < 1 || *quality > 100 {
		return usagef("-quality %d: want 1 to 100", *quality)
	}
	folderFormat, err := imaging.FormatForPath("x." + *format)
	if err != nil {
		return usagef("-format %q: want png or jpg", *format)
	}
	if *width < 0 || *height < 0 || *width > imaging.MaxSide || *height > imaging.MaxSide {
		return usagef("-width %d -height %d: want sizes from 1 to %d", *width, *height, imaging.MaxSide)
	}
	suffix := fmt.Sprintf("x%d", *choice.scale)
	switch {
	case *width > 0 && *height > 0:
		suffix = fmt.Sprintf("%dx%d", *width, *height)
	case *width > 0:
		suffix = fmt.Sprintf("w%d", *width)
	case *height > 0:
		suffix = fmt.Sprintf("h%d", *height)
	}
	jobs, err := planUpscale(fs.Args()[:fs.NArg()-1], fs.Arg(fs.NArg()-1), suffix, *format, *overwrite, stderr)
	if err != nil {
		return err
	}
	fixed, auto, err := core.ParseDenoise(*denoise)
	if err != nil {
		return usagef("-%v", err)
	}
	est, err := choice.loadEstimator()
	if err != nil {
		return err
	}
	// The networks by scale, loaded as images need them: the clean one and
	// the JPEG-aware and real-photo ones where they ship (core.Networks
	// picks).
	nets := map[int]core.Networks{}
	enhancer := func(scale int, read func(core.Networks) core.Reading) (*core.Enhancer, core.Reading, error) {
		n, ok := nets[scale]
		if !ok {
			c := choice
			c.scale = &scale
			var err error
			n.Detailed = c.detailed()
			if n.Clean, err = c.load(); err != nil {
				return nil, core.Reading{}, err
			}
			if n.Denoise, err = c.loadDenoise(); err != nil {
				return nil, core.Reading{}, err
			}
			if n.Restore, err = c.loadRestore(); err != nil {
				return nil, core.Reading{}, err
			}
			if !n.Clean.Config.Strength && n.Denoise == nil && n.Restore == nil && !auto && fixed > 0 {
				return nil, core.Reading{}, usagef("-denoise %s: %s has no restoration control (auto and none work with any model)", *denoise, c.source())
			}
			nets[scale] = n
		}
		r := read(n)
		m, strength := n.For(r)
		e := core.NewEnhancer(m, scale)
		e.Tile = *tile
		e.Strength = strength
		return e, r, nil
	}
	// pick chooses the scale and the exact size for an image.
	pick := func(w, h int) (scale, outW, outH int, err error) {
		if *width == 0 && *height == 0 {
			return *choice.scale, w * *choice.scale, h * *choice.scale, nil
		}
		scales := []int{2, 3, 4}
		if *choice.weights != "" {
			scales = []int{*choice.scale}
		}
		return imaging.FitScale(w, h, *width, *height, scales)
	}
	if *width == 0 && *height == 0 {
		if _, _, err := enhancer(*choice.scale, func(core.Networks) core.Reading { return core.Chosen(0, fixed) }); err != nil {
			return err // the one model is needed: say so before any image
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newBatchBar(len(jobs), *quiet, stderr)
	failed := 0
	for i, j := range jobs {
		outFormat := folderFormat
		if f, err := imaging.FormatForPath(j.out); err == nil {
			outFormat = f
		}
		d := denoiseChoice{fixed: fixed, auto: auto, est: est, report: func(msg string) { bar.clear(); fmt.Fprintln(stderr, msg) }}
		err := upscaleOne(ctx, pick, enhancer, j, d, outFormat, *quality, *maxMP, *workers, func(done, total int) { bar.set(i, done, total) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && len(jobs) == 1 {
			return err
		}
		if err != nil {
			failed++
			bar.clear()
			fmt.Fprintf(stderr, "train upscale: %v\n", err)
		}
	}
	bar.finish()
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(jobs))
	}
	return nil
}

// planUpscale turns the inputs and the output into jobs. One input file
// and an output that is not a folder: that file. Otherwise the output is a
// folder (created if missing) and each image, or each image directly in an
// input folder, goes to <name>-<suffix>.<ext> in it (suffix: x<scale>, or
// the exact size asked); existing outputs are skipped (said on stderr)
// unless overwrite.
func planUpscale(ins []string, out string, suffix string, ext string, overwrite bool, stderr io.Writer) ([]upscaleJob, error) {
	st, outErr := os.Stat(out)
	outIsDir := outErr == nil && st.IsDir()
	if len(ins) == 1 && !outIsDir && !strings.HasSuffix(out, string(filepath.Separator)) {
		if st, err := os.Stat(ins[0]); err == nil && !st.IsDir() {
			if _, err := imaging.FormatForPath(out); err != nil {
				return nil, err
			}
			return []upscaleJob{{ins[0], out}}, nil
		}
	}
	if outErr == nil && !outIsDir {
		return nil, usagef("%s is a file; with several inputs or a folder, the output must be a folder", out)
	}
	var files []string
	for _, in := range ins {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, in)
			continue
		}
		des, err := os.ReadDir(in)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, d := range des {
			if !d.IsDir() && imaging.IsImageFile(d.Name()) {
				found = append(found, filepath.Join(in, d.Name()))
			}
		}
		if len(found) == 0 {
			fmt.Fprintf(stderr, "train upscale: no images in %s\n", in)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var jobs []upscaleJob
	seen := map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		dst := filepath.Join(out, fmt.Sprintf("%s-%s.%s", name, suffix, ext))
		if prev, ok := seen[dst]; ok {
			return nil, usagef("%s and %s would both be written to %s", prev, f, dst)
		}
		seen[dst] = f
		if _, err := os.Stat(dst); err == nil && !overwrite {
			fmt.Fprintf(stderr, "train upscale: skipping %s: %s exists (-overwrite replaces it)\n", f, dst)
			continue
		}
		jobs = append(jobs, upscaleJob{f, dst})
	}
	return jobs, nil
}

// denoiseChoice is the -denoise setting: a fixed strength, or automatic
// (from each file), with a place to say what auto chose.
type denoiseChoice struct {
	fixed  float32
	auto   bool
	est    *network.Model // auto also reads the pixels with it, if any
	report func(string)
}

// upscaleOne decodes, enhances and writes one image, through a temporary
// file, so that a failure leaves nothing behind. pick gives the scale and
// the exact output size for the image's size; enhancer the enhancer of a
// scale.
func upscaleOne(ctx context.Context, pick func(w, h int) (int, int, int, error), enhancer func(int, func(core.Networks) core.Reading) (*core.Enhancer, core.Reading, error),
	j upscaleJob, d denoiseChoice, format string, quality int, maxMP float64, workers int, progress func(done, total int)) error {
	data, err := os.ReadFile(j.in)
	if err != nil {
		return err
	}
	img, _, err := imaging.Decode(bytes.NewReader(data), int(maxMP*1e6))
	if err != nil {
		return fmt.Errorf("%s: %v", j.in, err)
	}
	scale, outW, outH, err := pick(img.Bounds().Dx(), img.Bounds().Dy())
	if err != nil {
		return fmt.Errorf("%s: %v", j.in, err)
	}
	q, _ := imaging.JPEGQuality(data)
	e, reading, err := enhancer(scale, func(n core.Networks) core.Reading {
		if !d.auto {
			return core.Chosen(q, d.fixed)
		}
		return n.ReadImage(q, img, d.est, scale)
	})
	if err != nil {
		return err
	}
	if d.auto && e.Strength > 0 {
		d.report(fmt.Sprintf("%s: %s", j.in, reading))
	}
	res, err := e.Image(ctx, img, workers, progress)
	if err != nil {
		return fmt.Errorf("%s: %v", j.in, err)
	}
	if res.Rect.Dx() != outW || res.Rect.Dy() != outH {
		res = imaging.ResizeNRGBA(res, outW, outH)
	}
	if err := training.WriteAtomic(j.out, func(w io.Writer) error { return imaging.EncodeQuality(w, res, format, quality) }); err != nil {
		return fmt.Errorf("%s: %v", j.out, err)
	}
	return nil
}

// batchBar is one progress bar over a batch, shown only once the work has
// taken more than a second: image i's tiles fill its share.
type batchBar struct {
	images int
	quiet  bool
	stderr io.Writer
	start  time.Time
	bar    *progressbar.ProgressBar
}

const barStepsPerImage = 1000

func newBatchBar(images int, quiet bool, stderr io.Writer) *batchBar {
	return &batchBar{images: images, quiet: quiet, stderr: stderr, start: time.Now()}
}

func (b *batchBar) set(image, done, total int) {
	if b.quiet {
		return
	}
	if b.bar == nil && time.Since(b.start) > time.Second && (image < b.images-1 || done < total) {
		desc := "upscale"
		if b.images > 1 {
			desc = fmt.Sprintf("upscale %d images", b.images)
		}
		b.bar = progressbar.NewOptions(b.images*barStepsPerImage, progressbar.OptionSetWriter(b.stderr),
			progressbar.OptionSetDescription(desc), progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(200*time.Millisecond))
	}
	if b.bar != nil {
		_ = b.bar.Set(image*barStepsPerImage + done*barStepsPerImage/max(1, total))
	}
}

// clear removes the bar's line so that a message can be printed.
func (b *batchBar) clear() {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
}

func (b *batchBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}
