package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

// BenchmarkUpscaleCommand times the whole command as a user runs it: a
// built train binary upscaling a 512x512 PNG to PNG at x2 with the shipped
// general model on all cores (process start, decode, enhance, encode,
// write). It reports output megapixels per second.
func BenchmarkUpscaleCommand(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "train")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	trainingtest.WriteNoiseImages(b, dir, 1, 512, 512, 3)
	in, out := filepath.Join(dir, "imga.png"), filepath.Join(dir, "out.png")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if msg, err := exec.Command(bin, "upscale", "-quiet", "-scale", "2", in, out).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, msg)
		}
	}
	b.ReportMetric(1024*1024*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
}
