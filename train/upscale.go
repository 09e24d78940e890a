package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/srcnn-web/upscaler/core"
)

func runUpscale(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upscale", "[-scale N] [-model general|portrait] [-weights FILE] IN OUT", stderr)
	choice := addModelFlags(fs)
	maxMP := fs.Float64("max-mp", core.DefaultMaxPixels/1e6, "largest input accepted, in megapixels")
	tile := fs.Int("tile", core.DefaultTile, "tile side in output pixels")
	workers := fs.Int("workers", 0, "parallel tiles (0: all cores)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := choice.check(); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want an input and an output file, got %d arguments", fs.NArg())
	}
	if !(*maxMP > 0) || *tile < 16 || *workers < 0 {
		return usagef("-max-mp must be positive, -tile at least 16, -workers at least 0")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	format, err := core.FormatForPath(out)
	if err != nil {
		return err
	}
	m, err := choice.load()
	if err != nil {
		return err
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	img, _, err := core.Decode(f, int(*maxMP*1e6))
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %v", in, err)
	}

	e := core.NewEnhancer(m, *choice.scale)
	e.Tile = *tile
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress func(done, total int)
	if !*quiet {
		var bar *progressbar.ProgressBar
		start := time.Now()
		progress = func(done, total int) {
			// Show a bar only for work that takes more than a second.
			if bar == nil && time.Since(start) > time.Second && done < total {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("upscale"), progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
			}
			if bar != nil {
				_ = bar.Set(done)
			}
		}
	}
	res, err := e.Image(ctx, img, *workers, progress)
	if err != nil {
		return err
	}
	return writeAtomic(out, func(w io.Writer) error { return core.Encode(w, res, format) })
}
