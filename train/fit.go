package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/degrade"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training"
)

func runFit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fit", "-data DIR[,DIR...] [flags]", stderr)
	data := fs.String("data", "", "training folders, comma-separated (searched recursively for PNG, JPEG, BMP, ...); a folder with LR/ and HR/ folders in it gives real LR/HR pairs (same file names) whose LR images are used as they are")
	val := fs.String("val", "", "validation folder (PSNR-Y as train eval measures it)")
	scale := fs.Int("scale", 2, "upscaling factor: 2, 3 or 4")
	preset := fs.String("preset", "srcnn-915", "network preset: "+strings.Join(network.PresetNames(), ", "))
	residual := fs.Bool("residual", true, "learn the residual over bicubic")
	patch := fs.Int("patch", 48, "high-resolution patch side (rounded down to a multiple of -scale)")
	batch := fs.Int("batch", 16, "patches per step")
	shard := fs.Int("shard", 4, "patches per gradient shard (the unit of parallel work)")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	decayEvery := fs.Int("lr-decay-every", 0, "multiply the learning rate by -lr-decay every this many steps (0: never)")
	decay := fs.Float64("lr-decay", 0.5, "learning-rate decay factor")
	steps := fs.Int("steps", 0, "optimizer steps in all (this or -epochs)")
	epochs := fs.Float64("epochs", 0, "passes over the training images' pixels (converted to steps)")
	out := fs.String("out", "", "weights file to write (the best validation PSNR; the last step without -val)")
	ckpt := fs.String("checkpoint", "", "checkpoint file (default: -out with .ckpt)")
	resume := fs.Bool("resume", false, "continue the run in -checkpoint")
	seed := fs.Uint64("seed", 1, "random seed")
	initW := fs.String("init", "", "start from these weights (same preset), or from a checkpoint of a re-parameterized run (its layers whose shapes match: x3/x4 from x2)")
	plain := fs.Bool("plain", false, "train ecb-* presets as plain 3x3 convolutions, without the re-parameterized branches")
	loss := fs.String("loss", "mse", "training loss: mse or l1")
	jpegQ := fs.String("jpeg", "", "save the LR inputs as JPEG at a quality drawn from LO-HI (for example 30-95), made from RGB as real JPEGs are, the 8x8 grid shifted at random")
	jpegClean := fs.Float64("jpeg-clean", 0.3, "with -jpeg: the share of inputs left clean")
	jpegLighter := fs.Float64("jpeg-lighter", 0, "with -jpeg -strength: the share of degraded inputs saved at a higher quality than the strength they are given says (or clean)")
	valJPEG := fs.Int("val-jpeg", 0, "with -strength: validate on the LR images saved as JPEG at this quality too (train eval -jpeg), and keep the weights with the best mean of the clean and the JPEG PSNR")
	strength := fs.Bool("strength", false, "the network reads the denoise strength as one more input plane (0 for clean patches, core.StrengthForQuality for JPEG ones); ecb-* presets")
	estimator := fs.Bool("estimator", false, "with -degrade and an estimator-* preset: train the degradation estimator, whose target at every pixel is the severity its patch was degraded at (no residual); validated by its mean error on -val's images degraded at known severities")
	deg := fs.Bool("degrade", false, "with -strength or -estimator: degrade the LR inputs with the real-photo model (blur, resizing, noise, JPEG in two rounds; package degrade) at a severity drawn from 0 to 1, which is the strength the network reads")
	degModel := fs.String("degrade-model", "default", "with -degrade: the degradation model, default (after Real-ESRGAN's), camera (its blur and resizing, a third of its noise, less JPEG), lens (camera with half as much blur again, for the Detailed look), sharpened (lens with a camera's unsharp mask: its halos) or noisy (noise in nearly every chain, for the estimator)")
	degClean := fs.Float64("degrade-clean", 0.05, "with -degrade: the share of inputs left as the clean bicubic shrink, at strength 0")
	valPairs := fs.String("val-pairs", "", "with -strength and -val: validate on this folder of given LR/HR pairs too (train eval's pairs), at -val-strength, and keep the weights with the best mean of -val's and its PSNR")
	valStrength := fs.Float64("val-strength", 0.5, "with -val-pairs: the strength the network is given on them")
	pairStrength := fs.Float64("pairs-strength", 0.5, "with -strength: the strength the network is told on the given LR/HR pairs among -data's folders")
	valEvery := fs.Int("val-every", 500, "validate, log and checkpoint every this many steps")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers (results do not depend on it)")
	cacheMB := fs.Int("cache-mb", 512, "memory for decoded training images, in MiB")
	quiet := fs.Bool("quiet", false, "no progress bar")
	act := fs.String("act", "relu", "activation between layers: relu or prelu (a learned slope per channel)")
	anchor := fs.String("anchor", "bicubic", "what a network at the input's resolution corrects: bicubic (the bicubic enlargement) or repeat (each input pixel repeated, ABPN's)")
	gan := fs.String("gan", "", "train adversarially (the Detailed look) with this GAN loss: standard or relativistic; -val is then scored by NIQE, with PSNR logged")
	ganWeight := fs.Float64("gan-weight", 0.5, "with -gan: the adversarial gradient's size as a share of the pixel loss's (at the network's output, per shard)")
	ganArtifact := fs.Float64("gan-artifact", 1, "with -gan: the weight of LDL's artifact term (0: none)")
	ganWidths := fs.String("gan-d", "16,32,64", "with -gan: the discriminator's stage widths")
	ganLR := fs.Float64("gan-lr", 0, "with -gan: the discriminator's learning rate (0: -lr)")
	ganEMA := fs.Float64("gan-ema", 0.999, "with -gan: the decay of the generator's running average (LDL's reference)")
	ganSpectral := fs.Bool("gan-spectral", false, "with -gan: spectral normalisation of the discriminator's layers (each divided by its largest singular value)")
	ganFeature := fs.Float64("gan-feature", 0, "with -gan: the weight of feature matching (the discriminator's stage outputs for generated detail pulled toward the real patch's) beside the adversarial loss's 1")
	ganGrid := fs.Float64("gan-grid", 0, "with -gan: the weight of a term on the error that repeats on the output's depth-to-space grid (its phases' means over 3x3 cells), against dotted patterns (0: none)")
	ganGridFlat := fs.Float64("gan-grid-flat", 0, "with -gan-grid: count the grid only where the target is flat, fully where a cell's standard deviation is 0 and not at all from this one up (0: everywhere)")
	ganFloor := fs.Float64("gan-floor", 0, "with -gan: the discriminator learns only at steps where its loss is at least this (0: always), so that it cannot win outright (both losses are a sum of two terms: 1.39 when it cannot tell real from generated)")
	ganWarmup := fs.Int("gan-warmup", 0, "with -gan: steps at the start in which only the discriminator learns from the adversarial loss (the generator keeps to its pixel loss)")
	ssim := fs.Float64("ssim", 0, "add this weight times (1 - SSIM) of each output patch against its target (Wang et al.'s 11x11 window) to the loss, toward structural similarity (a residual network on Y at the input's resolution)")
	targetSharpen := fs.String("target-sharpen", "", "sharpen the training targets by an unsharp mask AMOUNT,SIGMA (SIGMA in high-resolution pixels), as Real-ESRGAN trains on sharpened ground truth, so that the network delivers the crisper picture")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	o := training.Options{Val: *val, Scale: *scale, Preset: *preset, Residual: *residual, Batch: *batch, Shard: *shard,
		LR: *lr, DecayEvery: *decayEvery, DecayFactor: *decay, Steps: *steps, Seed: *seed, Init: *initW, ValEvery: *valEvery,
		Plain: *plain, Loss: *loss}
	if *data != "" {
		o.Data = strings.Split(*data, ",")
	}
	o.Patch = *patch / max(1, *scale) * max(1, *scale)
	switch {
	case len(o.Data) == 0:
		return usagef("-data is required")
	case *out == "":
		return usagef("-out is required")
	case o.Scale < 2 || o.Scale > 4:
		return usagef("-scale %d: want 2, 3 or 4", o.Scale)
	case o.Patch < 4*o.Scale || o.Patch > 512:
		return usagef("-patch %d: want %d to 512", *patch, 4*o.Scale)
	case o.Batch < 1 || o.Shard < 1 || o.Batch%o.Shard != 0:
		return usagef("-batch %d and -shard %d: want positive numbers, the batch a multiple of the shard", o.Batch, o.Shard)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return usagef("-lr %g: want a positive number", o.LR)
	case o.DecayEvery < 0 || !(o.DecayFactor > 0 && o.DecayFactor <= 1):
		return usagef("-lr-decay-every %d -lr-decay %g: want a step count >= 0 and a factor in (0, 1]", o.DecayEvery, o.DecayFactor)
	case (o.Steps > 0) == (*epochs > 0):
		return usagef("give exactly one of -steps and -epochs, positive")
	case o.ValEvery < 1:
		return usagef("-val-every %d: want at least 1", o.ValEvery)
	case *workers < 1:
		return usagef("-workers %d: want at least 1", *workers)
	case *cacheMB < 1:
		return usagef("-cache-mb %d: want at least 1", *cacheMB)
	case o.Loss != "mse" && o.Loss != "l1":
		return usagef("-loss %q: want mse or l1", o.Loss)
	case !(*jpegClean >= 0 && *jpegClean <= 1):
		return usagef("-jpeg-clean %g: want a share from 0 to 1", *jpegClean)
	case !(*jpegLighter >= 0 && *jpegLighter <= 1):
		return usagef("-jpeg-lighter %g: want a share from 0 to 1", *jpegLighter)
	case *jpegLighter > 0 && !*strength:
		return usagef("-jpeg-lighter is for -strength networks")
	case *valJPEG < 0 || *valJPEG > 100:
		return usagef("-val-jpeg %d: want a JPEG quality from 1 to 100", *valJPEG)
	case *valJPEG > 0 && (!*strength || *val == ""):
		return usagef("-val-jpeg needs -val and -strength")
	case *deg && (!*strength && !*estimator || *jpegQ != ""):
		return usagef("-degrade needs -strength or -estimator, and is instead of -jpeg")
	case *estimator && (!*deg || *strength):
		return usagef("-estimator needs -degrade, and reads no strength")
	case !(*degClean >= 0 && *degClean <= 1):
		return usagef("-degrade-clean %g: want a share from 0 to 1", *degClean)
	case *valPairs != "" && (!*strength && !*estimator || *val == "" || *valJPEG > 0):
		return usagef("-val-pairs needs -val and -strength or -estimator, and is instead of -val-jpeg")
	case !(*valStrength >= 0 && *valStrength <= 1):
		return usagef("-val-strength %g: want a strength from 0 to 1", *valStrength)
	case !(*pairStrength >= 0 && *pairStrength <= 1):
		return usagef("-pairs-strength %g: want a strength from 0 to 1", *pairStrength)
	}
	if *valPairs != "" && !training.IsPairs(*valPairs) {
		return usagef("-val-pairs %s: want a folder with LR/ and HR/ folders in it", *valPairs)
	}
	if *deg {
		o.Degrade = training.DegradeBand{On: true, Clean: *degClean}
		if *degModel != "default" {
			o.Degrade.Model = *degModel
		}
		if _, ok := degrade.Models[o.Degrade.Model]; !ok {
			return usagef("-degrade-model %q: want default, camera, lens, sharpened or noisy", *degModel)
		}
	}
	if *valPairs != "" {
		o.ValPairs, o.ValStrength = *valPairs, float32(*valStrength)
	}
	if *jpegQ != "" {
		if _, err := fmt.Sscanf(*jpegQ, "%d-%d", &o.JPEG.Lo, &o.JPEG.Hi); err != nil || o.JPEG.Lo < 1 || o.JPEG.Hi > 100 || o.JPEG.Lo > o.JPEG.Hi {
			return usagef("-jpeg %q: want a quality band LO-HI within 1-100", *jpegQ)
		}
		o.JPEG.Clean, o.JPEG.Lighter = *jpegClean, *jpegLighter
	}
	if *gan != "" {
		o.GAN = training.GAN{Kind: *gan, Weight: *ganWeight, Artifact: *ganArtifact, LR: *ganLR, EMA: *ganEMA, Warmup: *ganWarmup, Feature: *ganFeature, Spectral: *ganSpectral, Floor: *ganFloor, Grid: *ganGrid, GridFlat: *ganGridFlat}
		if o.GAN.LR == 0 {
			o.GAN.LR = o.LR
		}
		for _, f := range strings.Split(*ganWidths, ",") {
			w, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || w < 1 {
				return usagef("-gan-d %q: want stage widths like 16,32,64", *ganWidths)
			}
			o.GAN.Widths = append(o.GAN.Widths, w)
		}
		if err := o.GAN.Check(); err != nil {
			return usagef("-gan: %v", err)
		}
	}
	if *targetSharpen != "" {
		if _, err := fmt.Sscanf(*targetSharpen, "%g,%g", &o.Sharpen.Amount, &o.Sharpen.Sigma); err != nil || !o.Sharpen.On() || o.Sharpen.Sigma > 10 {
			return usagef("-target-sharpen %q: want AMOUNT,SIGMA like 1,2 (both above 0, SIGMA up to 10)", *targetSharpen)
		}
	}
	o.ValJPEG = *valJPEG
	o.Strength, o.Estimate = *strength, *estimator
	if o.Estimate {
		o.Residual = false // its output is the severity itself
	}
	cfg, err := network.Preset(o.Preset, o.Scale, o.Residual)
	if err != nil {
		return usagef("%v", err)
	}
	if cfg.Estimator != o.Estimate {
		return usagef("-estimator goes with an estimator-* preset, and such a preset with -estimator")
	}
	cfg.Strength = o.Strength
	// The flags' names for network.Config's values ("" is the default).
	if cfg.Activation, err = choose("act", *act, map[string]string{"relu": "", "prelu": "prelu"}); err != nil {
		return err
	}
	if cfg.Anchor, err = choose("anchor", *anchor, map[string]string{"bicubic": "", "repeat": "repeat"}); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if o.SSIM = *ssim; o.SSIM != 0 && (!(o.SSIM > 0 && o.SSIM <= 100) || cfg.Channels != 1 || !cfg.LowRes() || !cfg.Residual || o.Estimate || o.Patch < 11) {
		return usagef("-ssim %g: want a weight above 0 and up to 100, for a residual network on Y at the input's resolution, with patches of 11 pixels or more", o.SSIM)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if *ckpt == "" {
		*ckpt = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".ckpt"
	}
	if o.Val != "" {
		if _, err := training.ListImages([]string{o.Val}); err != nil {
			return err
		}
	}

	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	ds, err := training.OpenDataset(o.Data, o.Scale, o.Patch, cfg.Channels, o.JPEG, o.Degrade, int64(*cacheMB)<<20, func(s string) { logf("warning: %s", s) })
	if err != nil {
		return err
	}
	ds.ForNetwork(cfg)
	ds.SharpenTargets(o.Sharpen)
	if n := ds.Pairs(); n > 0 {
		if o.Estimate {
			return usagef("-estimator learns the severity the degradation model drew: given LR/HR pairs have none")
		}
		if o.Strength { // set only with pairs, so that earlier runs' checkpoints still resume
			o.PairStrength = float32(*pairStrength)
		}
		ds.TellPairs(o.PairStrength)
		logf("%d of the %d training images are given LR/HR pairs", n, ds.Images())
	}
	if *epochs > 0 {
		o.Steps = max(1, int(math.Ceil(*epochs*float64(ds.Area())/float64(o.Batch*o.Patch*o.Patch))))
	}

	var validate training.Validator
	if o.Val != "" {
		validate = validator(o)
		if o.Estimate {
			validate = estimatorValidator(o)
		}
		if o.GAN.On() {
			validate = ganValidator(o)
		}
	}
	t := training.NewTrainer(o, ds, *workers, *out, *ckpt, "go run ./train fit "+strings.Join(args, " "), logf, validate)
	if *resume {
		if err := t.Resume(); err != nil {
			return err
		}
	} else if err := t.Start(cfg); err != nil {
		return err
	}
	kind := "plain"
	if t.Model().Branches != nil {
		kind = "re-parameterized"
	}
	lossName := o.Loss
	if o.SSIM > 0 {
		lossName += fmt.Sprintf(" + %g x (1 - SSIM)", o.SSIM)
	}
	logf("training %s, %s (%d parameters, %.0f multiply-adds per output pixel) at x%d on %d images (%.1f MP), %d steps of %d patches of %dx%d, %s loss",
		cfg.Preset, kind, cfg.ParamCount(), cfg.MACsPerOutputPixel(), o.Scale, ds.Images(), float64(ds.Area())/1e6, o.Steps, o.Batch, o.Patch, o.Patch, lossName)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return t.Run(ctx, stdout, stderr, *quiet)
}

// validator scores a model as train eval does: PSNR-Y on -val; with
// -val-jpeg or -val-pairs, the mean of that and of the JPEG inputs at
// auto's strength, or of the given pairs at -val-strength.
func validator(o training.Options) training.Validator {
	return func(m *network.Model) (float64, string, error) {
		net := []string{"srcnn"}
		r, err := evalSet(o.Val, evalOptions{scale: o.Scale, model: m, methods: net})
		if err != nil {
			return 0, "", err
		}
		clean := r.Methods["srcnn"].PSNR
		switch {
		case o.ValJPEG > 0:
			r, err := evalSet(o.Val, evalOptions{scale: o.Scale, model: m, methods: net, jpeg: o.ValJPEG, auto: true})
			if err != nil {
				return 0, "", err
			}
			q := r.Methods["srcnn"].PSNR
			return (clean + q) / 2, fmt.Sprintf(" (clean %.3f, q%d %.3f)", clean, o.ValJPEG, q), nil
		case o.ValPairs != "":
			r, err := evalSet(o.ValPairs, evalOptions{scale: o.Scale, model: m, methods: net, ssim: true, strength: o.ValStrength})
			if err != nil {
				return 0, "", err
			}
			q := r.Methods["srcnn"]
			return (clean + q.PSNR) / 2, fmt.Sprintf(" (clean %.3f, %s at %.2f %.3f / SSIM %.4f)", clean, r.Name, o.ValStrength, q.PSNR, q.SSIM), nil
		}
		return clean, "", nil
	}
}

// ganValidator scores an adversarially trained network by NIQE on -val's
// outputs (the score is its negation: lower NIQE is better), and logs their
// PSNR-Y beside it; with -val-pairs, by the mean of that NIQE and the given
// pairs' at -val-strength.
func ganValidator(o training.Options) training.Validator {
	return func(m *network.Model) (float64, string, error) {
		net := []string{"srcnn"}
		r, err := evalSet(o.Val, evalOptions{scale: o.Scale, model: m, methods: net, niqe: true})
		if err != nil {
			return 0, "", err
		}
		s := r.Methods["srcnn"]
		if o.ValPairs == "" {
			return -s.NIQE, fmt.Sprintf(" (NIQE %.3f, PSNR %.3f)", s.NIQE, s.PSNR), nil
		}
		p, err := evalSet(o.ValPairs, evalOptions{scale: o.Scale, model: m, methods: net, niqe: true, strength: o.ValStrength})
		if err != nil {
			return 0, "", err
		}
		q := p.Methods["srcnn"]
		return -(s.NIQE + q.NIQE) / 2, fmt.Sprintf(" (NIQE/PSNR %.3f/%.3f, %s at %.2f %.3f/%.3f)", s.NIQE, s.PSNR, p.Name, o.ValStrength, q.NIQE, q.PSNR), nil
	}
}

// choose returns what flag -name's value stands for among options, or a
// usage error that lists them.
func choose(name, value string, options map[string]string) (string, error) {
	if v, ok := options[value]; ok {
		return v, nil
	}
	keys := slices.Sorted(maps.Keys(options))
	return "", usagef("-%s %q: want %s", name, value, strings.Join(keys, " or "))
}

// estimatorValidator scores a degradation estimator: the negated mean
// error of its estimate (core.EstimateStrength) on -val's images degraded
// at severities 0, 0.25, 0.5, 0.75 and 1 (a fixed chain per image and
// severity); it logs the mean estimate per severity and, with -val-pairs,
// the mean estimate on the pairs' LR images.
func estimatorValidator(o training.Options) training.Validator {
	levels := []float32{0, 0.25, 0.5, 0.75, 1}
	return func(m *network.Model) (float64, string, error) {
		files, err := training.ListImages([]string{o.Val})
		if err != nil {
			return 0, "", err
		}
		means := make([]float64, len(levels))
		var mae float64
		for i, f := range files {
			rgb, err := training.LoadPlanes(f, 3)
			if err != nil {
				return 0, "", err
			}
			w, h := rgb[0].W/o.Scale*o.Scale, rgb[0].H/o.Scale*o.Scale
			for c := range rgb {
				rgb[c] = rgb[c].Crop(w, h)
			}
			for j, s := range levels {
				chain := degrade.Draw(rand.New(rand.NewPCG(uint64(i), uint64(j))), s, o.Scale, w, h)
				est := core.EstimateStrength(m, imaging.Luma8(chain.Apply(rgb)))
				means[j] += float64(est) / float64(len(files))
				mae += math.Abs(float64(est-s)) / float64(len(files)*len(levels))
			}
		}
		detail := fmt.Sprintf(" (mean error %.3f; reads", mae)
		for j, s := range levels {
			detail += fmt.Sprintf(" %.2f as %.3f", s, means[j])
		}
		if o.ValPairs != "" {
			lrs, err := training.ListImages([]string{filepath.Join(o.ValPairs, "LR")})
			if err != nil {
				return 0, "", err
			}
			var sum float64
			for _, f := range lrs {
				y, err := training.LoadPlanes(f, 1)
				if err != nil {
					return 0, "", err
				}
				sum += float64(core.EstimateStrength(m, y[0])) / float64(len(lrs))
			}
			detail += fmt.Sprintf("; %s LR %.3f", filepath.Base(o.ValPairs), sum)
		}
		return -mae, detail + ")", nil
	}
}
