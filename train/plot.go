package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotCurves draws the training loss and the validation PSNR from a run's
// CSV log into a PNG, one panel above the other.
func plotCurves(csvPath, pngPath string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return err
	}
	var loss, psnr plotter.XYs
	for _, r := range rows[min(1, len(rows)):] {
		if len(r) < 4 {
			continue
		}
		step, err1 := strconv.ParseFloat(r[0], 64)
		l, err2 := strconv.ParseFloat(r[2], 64)
		p, err3 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if l > 0 {
			loss = append(loss, plotter.XY{X: step, Y: l * 1000})
		}
		if err3 == nil && !math.IsNaN(p) && !math.IsInf(p, 0) {
			psnr = append(psnr, plotter.XY{X: step, Y: p})
		}
	}
	if len(loss) == 0 {
		return fmt.Errorf("no rows in %s yet", csvPath)
	}
	top := plot.New()
	top.Title.Text = "training loss (MSE or L1 as trained, on Y in 0..1, x1000)"
	top.X.Label.Text = "step"
	bottom := plot.New()
	bottom.Title.Text = "validation PSNR-Y (dB)"
	bottom.X.Label.Text = "step"
	for _, panel := range []struct {
		p   *plot.Plot
		xys plotter.XYs
	}{{top, loss}, {bottom, psnr}} {
		if len(panel.xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(panel.xys)
		if err != nil {
			return err
		}
		panel.p.Add(line, plotter.NewGrid())
		// Two decimals: a late run's curve spans a fraction of a dB, which
		// the default labels round to the same integer.
		panel.p.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
			ts := plot.DefaultTicks{}.Ticks(min, max)
			for i := range ts {
				if ts[i].Label != "" {
					ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', 2, 64)
				}
			}
			return ts
		})
	}
	img := vgimg.New(8*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	return writeAtomic(pngPath, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// runPlot redraws a run's curves from its CSV log.
func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", "RUN.csv OUT.png", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want a CSV log and a PNG to write")
	}
	return plotCurves(fs.Arg(0), fs.Arg(1))
}
