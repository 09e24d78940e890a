package main

import (
	"context"
	"encoding/gob"
	"errors"
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/optimizers/adam"
	"github.com/schollz/progressbar/v3"

	"github.com/srcnn-web/upscaler/core"
)

// fitOptions are the settings of a training run. A checkpoint stores them,
// and -resume continues only a run with the same settings.
type fitOptions struct {
	Data        []string
	Val         string
	Scale       int
	Preset      string
	Residual    bool
	Patch       int
	Batch       int
	Shard       int // patches per gradient shard: fixes the summation order
	LR          float64
	DecayEvery  int
	DecayFactor float64
	Steps       int
	Seed        uint64
	Init        string
	ValEvery    int
	Plain       bool   // low-resolution presets: no re-parameterized branches
	Loss        string // "mse" or "l1" ("" in old checkpoints: mse)
	JPEG        jpegBand
	Strength    bool // the network reads the denoise strength as one more input
	ValJPEG     int  // > 0: validation also on LR images saved as JPEG at this quality
	Degrade     degradeBand
	ValPairs    string // validation also on these given LR/HR pairs, at ValStrength
	ValStrength float32
}

// checkpoint is everything needed to continue a run exactly.
type checkpoint struct {
	Version  int
	Options  fitOptions
	Config   core.Config
	Step     int
	Params   [][]float32
	AdamV    [][]float32
	AdamM    [][]float32
	AdamStep int
	RNG      []byte
	BestPSNR float64
	Elapsed  time.Duration
	Command  string
}

const checkpointVersion = 1

func runFit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fit", "-data DIR[,DIR...] [flags]", stderr)
	data := fs.String("data", "", "training folders, comma-separated (searched recursively for PNG, JPEG, BMP, ...)")
	val := fs.String("val", "", "validation folder (PSNR-Y as train eval measures it)")
	scale := fs.Int("scale", 2, "upscaling factor: 2, 3 or 4")
	preset := fs.String("preset", "srcnn-915", "network preset: "+strings.Join(core.PresetNames(), ", "))
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
	deg := fs.Bool("degrade", false, "with -strength: degrade the LR inputs with the real-photo model (blur, resizing, noise, JPEG in two rounds; package degrade) at a severity drawn from 0 to 1, which is the strength the network reads")
	degClean := fs.Float64("degrade-clean", 0.05, "with -degrade: the share of inputs left as the clean bicubic shrink, at strength 0")
	valPairs := fs.String("val-pairs", "", "with -strength and -val: validate on this folder of given LR/HR pairs too (train eval's pairs), at -val-strength, and keep the weights with the best mean of -val's and its PSNR")
	valStrength := fs.Float64("val-strength", 0.5, "with -val-pairs: the strength the network is given on them")
	valEvery := fs.Int("val-every", 500, "validate, log and checkpoint every this many steps")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers (results do not depend on it)")
	cacheMB := fs.Int("cache-mb", 512, "memory for decoded training images, in MiB")
	quiet := fs.Bool("quiet", false, "no progress bar")
	act := fs.String("act", "relu", "activation between layers: relu or prelu (a learned slope per channel)")
	anchor := fs.String("anchor", "bicubic", "what a network at the input's resolution corrects: bicubic (the bicubic enlargement) or repeat (each input pixel repeated, ABPN's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	o := fitOptions{Val: *val, Scale: *scale, Preset: *preset, Residual: *residual, Batch: *batch, Shard: *shard,
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
	case *deg && (!*strength || *jpegQ != ""):
		return usagef("-degrade needs -strength, and is instead of -jpeg")
	case !(*degClean >= 0 && *degClean <= 1):
		return usagef("-degrade-clean %g: want a share from 0 to 1", *degClean)
	case *valPairs != "" && (!*strength || *val == "" || *valJPEG > 0):
		return usagef("-val-pairs needs -val and -strength, and is instead of -val-jpeg")
	case !(*valStrength >= 0 && *valStrength <= 1):
		return usagef("-val-strength %g: want a strength from 0 to 1", *valStrength)
	}
	if *valPairs != "" && !isPairs(*valPairs) {
		return usagef("-val-pairs %s: want a folder with LR/ and HR/ folders in it", *valPairs)
	}
	if *deg {
		o.Degrade = degradeBand{On: true, Clean: *degClean}
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
	o.ValJPEG = *valJPEG
	o.Strength = *strength
	cfg, err := core.Preset(o.Preset, o.Scale, o.Residual)
	if err != nil {
		return usagef("%v", err)
	}
	cfg.Strength = o.Strength
	// The flags' names for core.Config's values ("" is the default).
	if cfg.Activation, err = choose("act", *act, map[string]string{"relu": "", "prelu": "prelu"}); err != nil {
		return err
	}
	if cfg.Anchor, err = choose("anchor", *anchor, map[string]string{"bicubic": "", "repeat": "repeat"}); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if *ckpt == "" {
		*ckpt = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".ckpt"
	}
	if o.Val != "" {
		if _, err := listImages([]string{o.Val}); err != nil {
			return err
		}
	}

	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	ds, err := openDataset(o.Data, o.Scale, o.Patch, cfg.Channels, o.JPEG, o.Degrade, int64(*cacheMB)<<20, func(s string) { logf("warning: %s", s) })
	if err != nil {
		return err
	}
	ds.lowRes, ds.repeat = cfg.LowRes(), cfg.RepeatAnchor()
	if *epochs > 0 {
		o.Steps = max(1, int(math.Ceil(*epochs*float64(ds.area())/float64(o.Batch*o.Patch*o.Patch))))
	}

	t := &trainer{opts: o, data: ds, workers: *workers, out: *out, ckptPath: *ckpt, log: logf,
		command: "go run ./train fit " + strings.Join(args, " ")}
	if *resume {
		if err := t.resume(); err != nil {
			return err
		}
	} else if err := t.start(cfg); err != nil {
		return err
	}
	kind := "plain"
	if t.model.Branches != nil {
		kind = "re-parameterized"
	}
	logf("training %s, %s (%d parameters, %.0f multiply-adds per output pixel) at x%d on %d images (%.1f MP), %d steps of %d patches of %dx%d, %s loss",
		cfg.Preset, kind, cfg.ParamCount(), cfg.MACsPerOutputPixel(), o.Scale, len(ds.files), float64(ds.area())/1e6, o.Steps, o.Batch, o.Patch, o.Patch, o.Loss)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return t.loop(ctx, stdout, stderr, *quiet)
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

// trainer holds a run's state.
type trainer struct {
	opts     fitOptions
	data     *dataset
	workers  int
	out      string
	ckptPath string
	command  string
	log      func(string, ...any)

	model   *core.Model
	opt     *adam.Adam
	rng     *rand.Rand
	pcg     *rand.PCG
	step    int
	best    float64
	elapsed time.Duration
	lossSum float64
	lossN   int
	csv     *os.File
}

// newModel returns a freshly initialised model of the run's kind: with
// re-parameterized layers for a low-resolution preset unless -plain.
func (o fitOptions) newModel(cfg core.Config, rng *rand.Rand) (*core.Model, error) {
	if cfg.LowRes() && !o.Plain {
		return core.NewECBModel(cfg, rng)
	}
	return core.NewModel(cfg, rng)
}

// setParams copies saved parameter values into m, in Params order.
func setParams(m *core.Model, data [][]float32) error {
	ps := m.Params()
	if len(data) != len(ps) {
		return fmt.Errorf("%d parameter arrays for a model with %d", len(data), len(ps))
	}
	for i, p := range ps {
		if len(data[i]) != p.Value().Size() {
			return fmt.Errorf("parameter %d has %d values, the model wants %d", i, len(data[i]), p.Value().Size())
		}
		copy(p.Value().Data().F32(), data[i])
	}
	return nil
}

// readCheckpoint decodes a checkpoint file.
func readCheckpoint(path string) (*checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c checkpoint
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("%s is not a readable checkpoint: %v", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("%s has checkpoint version %d, want %d", path, c.Version, checkpointVersion)
	}
	return &c, nil
}

// initFromCheckpoint copies into m, layer by layer, a checkpoint's
// parameters where the layers have the same shape, or where m's layer only
// reads one more input (the strength plane, which starts at zero weight): a
// x2 run's head and body into a x3 or x4 model, whose tail differs, or a
// clean run into a JPEG-aware one. It returns how many layers it copied.
func initFromCheckpoint(m *core.Model, path string) (int, error) {
	c, err := readCheckpoint(path)
	if err != nil {
		return 0, err
	}
	src, err := c.Options.newModel(c.Config, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return 0, err
	}
	if err := setParams(src, c.Params); err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	if (m.Branches == nil) != (src.Branches == nil) {
		return 0, fmt.Errorf("%s holds a %s network, not one like %s", path, c.Config.Preset, m.Config.Preset)
	}
	n := 0
	for i := range min(len(m.Config.Layers), len(src.Config.Layers)) {
		if m.Branches != nil {
			if m.Branches[i].CopyFrom(src.Branches[i]) {
				n++
			}
			continue
		}
		if m.Weights[i].Value().Size() == src.Weights[i].Value().Size() && m.Biases[i].Value().Size() == src.Biases[i].Value().Size() {
			copy(m.Weights[i].Value().Data().F32(), src.Weights[i].Value().Data().F32())
			copy(m.Biases[i].Value().Data().F32(), src.Biases[i].Value().Data().F32())
			n++
		}
	}
	// PReLU slopes follow their layers (a ReLU source leaves them at the start).
	for i := range min(len(m.Slopes), len(src.Slopes)) {
		if m.Slopes[i].Value().Size() == src.Slopes[i].Value().Size() {
			copy(m.Slopes[i].Value().Data().F32(), src.Slopes[i].Value().Data().F32())
		}
	}
	return n, nil
}

func (t *trainer) start(cfg core.Config) error {
	t.pcg = rand.NewPCG(t.opts.Seed, 0x5eed)
	t.rng = rand.New(t.pcg)
	m, err := t.opts.newModel(cfg, t.rng)
	if err != nil {
		return err
	}
	if strings.HasSuffix(t.opts.Init, ".ckpt") {
		n, err := initFromCheckpoint(m, t.opts.Init)
		if err != nil {
			return fmt.Errorf("-init: %v", err)
		}
		t.log("initialised %d of %d layers from %s", n, len(m.Config.Layers), t.opts.Init)
	} else if t.opts.Init != "" {
		if m.Branches != nil {
			return fmt.Errorf("-init %s: a re-parameterized run starts from a checkpoint (.ckpt), which keeps the branches", t.opts.Init)
		}
		im, _, err := loadWeightsFile(t.opts.Init)
		if err != nil {
			return err
		}
		if fmt.Sprint(im.Config.Layers) != fmt.Sprint(cfg.Layers) || im.Config.Channels != cfg.Channels {
			return fmt.Errorf("-init %s holds a %s network, not %s", t.opts.Init, im.Config.Preset, cfg.Preset)
		}
		im.Config.Residual = cfg.Residual
		m = im
	}
	t.model = m
	t.opt = adam.New(adam.Config{StepSize: t.opts.LR, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8})
	t.best = math.Inf(-1)
	return t.openCSV(false)
}

func (t *trainer) csvPath() string {
	return strings.TrimSuffix(t.out, filepath.Ext(t.out)) + ".csv"
}

func (t *trainer) openCSV(appendTo bool) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(t.csvPath(), flags, 0o644)
	if err != nil {
		return err
	}
	t.csv = f
	if !appendTo {
		_, err = fmt.Fprintln(f, "step,epoch,loss,val_psnr,lr,elapsed_s,patches_per_s")
	}
	return err
}

func (t *trainer) resume() error {
	c, err := readCheckpoint(t.ckptPath)
	if err != nil {
		return fmt.Errorf("-resume: %v", err)
	}
	want, got := c.Options, t.opts
	want.Steps, got.Steps = 0, 0 // a resumed run may be extended
	if want.Loss == "" {
		want.Loss = "mse" // checkpoints from before -loss
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Errorf("-resume: the flags differ from the checkpoint's run:\n  checkpoint: %+v\n  now:        %+v", want, got)
	}
	if t.model, err = got.newModel(c.Config, rand.New(rand.NewPCG(0, 0))); err != nil {
		return fmt.Errorf("-resume: %v", err)
	}
	if err := setParams(t.model, c.Params); err != nil {
		return fmt.Errorf("-resume: %s: %v", t.ckptPath, err)
	}
	t.opt = adam.New(adam.Config{StepSize: t.opts.LR, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8})
	t.opt.TimeStep = c.AdamStep
	for i, p := range t.model.Params() {
		if c.AdamV[i] == nil {
			continue
		}
		shape := p.Value().Shape()
		dense := func(d []float32) mat.Matrix {
			return mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(append([]float32(nil), d...)))
		}
		zero := func() mat.Matrix { return mat.NewDense[float32](mat.WithShape(shape...)) }
		p.State = &adam.State{V: dense(c.AdamV[i]), M: dense(c.AdamM[i]), Buf1: zero(), Buf2: zero(), Buf3: zero()}
	}
	t.pcg = rand.NewPCG(0, 0)
	if err := t.pcg.UnmarshalBinary(c.RNG); err != nil {
		return fmt.Errorf("-resume: %v", err)
	}
	t.rng = rand.New(t.pcg)
	t.step, t.best, t.elapsed = c.Step, c.BestPSNR, c.Elapsed
	t.log("resuming %s at step %d (best validation PSNR %.3f dB)", t.ckptPath, t.step, t.best)
	return t.openCSV(true)
}

// saveCheckpoint writes the run's state atomically.
func (t *trainer) saveCheckpoint() error {
	c := checkpoint{Version: checkpointVersion, Options: t.opts, Config: t.model.Config, Step: t.step,
		AdamStep: t.opt.TimeStep, BestPSNR: t.best, Elapsed: t.elapsed, Command: t.command}
	for _, p := range t.model.Params() {
		c.Params = append(c.Params, p.Value().Data().F32())
		if s, ok := p.State.(*adam.State); ok {
			c.AdamV = append(c.AdamV, s.V.Data().F32())
			c.AdamM = append(c.AdamM, s.M.Data().F32())
		} else {
			c.AdamV, c.AdamM = append(c.AdamV, nil), append(c.AdamM, nil)
		}
	}
	var err error
	if c.RNG, err = t.pcg.MarshalBinary(); err != nil {
		return err
	}
	return writeAtomic(t.ckptPath, func(w io.Writer) error { return gob.NewEncoder(w).Encode(&c) })
}

// writeAtomic writes a file through a temporary file in the same folder and
// renames it into place, so that no reader ever sees a partial file.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (t *trainer) saveWeights(psnr float64) error {
	info := core.TrainingInfo{Data: t.opts.Data, Val: t.opts.Val, Command: t.command, Steps: t.step,
		Epochs: t.epochs(), WallTime: t.elapsed, ValPSNR: psnr}
	return writeAtomic(t.out, func(w io.Writer) error { return core.SaveWeights(w, t.model, t.opts.Scale, info) })
}

func (t *trainer) epochs() float64 {
	return float64(t.step) * float64(t.opts.Batch*t.opts.Patch*t.opts.Patch) / float64(t.data.area())
}

func (t *trainer) learningRate() float64 {
	lr := t.opts.LR
	if t.opts.DecayEvery > 0 {
		lr *= math.Pow(t.opts.DecayFactor, float64(t.step/t.opts.DecayEvery))
	}
	return lr
}

// errNonFinite stops a run whose loss is no longer a number.
var errNonFinite = errors.New("non-finite loss")

func (t *trainer) loop(ctx context.Context, stdout, stderr io.Writer, quiet bool) error {
	defer t.csv.Close()
	var bar *progressbar.ProgressBar
	if !quiet {
		bar = progressbar.NewOptions(t.opts.Steps,
			progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("fit"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("steps"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(500*time.Millisecond),
			progressbar.OptionClearOnFinish())
		_ = bar.Set(t.step)
	}
	px := t.data.inputSide() * t.data.inputSide()
	flopsPerStep := 6 * float64(t.model.Config.MACsPerPixel()) * float64(t.opts.Batch*px) // forward + two backward products
	intervalStart, intervalSteps := time.Now(), 0
	for t.step < t.opts.Steps {
		if ctx.Err() != nil {
			if err := t.saveCheckpoint(); err != nil {
				return err
			}
			t.log("\ninterrupted at step %d: checkpoint written to %s; continue with -resume", t.step, t.ckptPath)
			return nil
		}
		began := time.Now()
		loss, err := t.trainStep()
		t.elapsed += time.Since(began)
		if errors.Is(err, errNonFinite) {
			return fmt.Errorf("the loss became %v at step %d: stopping; the last good checkpoint is %s (try a lower -lr)", loss, t.step+1, t.ckptPath)
		}
		if err != nil {
			return err
		}
		t.step++
		t.lossSum += loss
		t.lossN++
		intervalSteps++
		if bar != nil {
			_ = bar.Set(t.step)
		}
		if t.step%t.opts.ValEvery == 0 || t.step == t.opts.Steps {
			secs := time.Since(intervalStart).Seconds()
			rate := float64(intervalSteps*t.opts.Batch) / secs
			gflops := float64(intervalSteps) * flopsPerStep / secs / 1e9
			if err := t.report(stdout, rate, gflops); err != nil {
				return err
			}
			intervalStart, intervalSteps = time.Now(), 0
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return nil
}

// report validates, appends to the CSV, redraws the plot, and saves weights
// and checkpoint.
func (t *trainer) report(stdout io.Writer, patchesPerSec, gflops float64) error {
	loss := t.lossSum / float64(max(1, t.lossN))
	t.lossSum, t.lossN = 0, 0
	psnr := math.NaN()
	if t.opts.Val != "" {
		r, err := evalSet(t.opts.Val, evalOptions{scale: t.opts.Scale, model: t.model, methods: []string{"srcnn"}})
		if err != nil {
			return fmt.Errorf("validation: %v", err)
		}
		psnr = r.Methods["srcnn"].PSNR
	}
	valJPEG := ""
	if t.opts.ValJPEG > 0 {
		r, err := evalSet(t.opts.Val, evalOptions{scale: t.opts.Scale, model: t.model, methods: []string{"srcnn"}, jpeg: t.opts.ValJPEG, auto: true})
		if err != nil {
			return fmt.Errorf("validation: %v", err)
		}
		q := r.Methods["srcnn"].PSNR
		valJPEG = fmt.Sprintf(" (clean %.3f, q%d %.3f)", psnr, t.opts.ValJPEG, q)
		psnr = (psnr + q) / 2
	}
	if t.opts.ValPairs != "" {
		r, err := evalSet(t.opts.ValPairs, evalOptions{scale: t.opts.Scale, model: t.model, methods: []string{"srcnn"}, strength: t.opts.ValStrength})
		if err != nil {
			return fmt.Errorf("validation: %v", err)
		}
		q := r.Methods["srcnn"].PSNR
		valJPEG = fmt.Sprintf(" (clean %.3f, %s at %.2f %.3f)", psnr, r.Name, t.opts.ValStrength, q)
		psnr = (psnr + q) / 2
	}
	fmt.Fprintf(stdout, "step %d  epoch %.2f  loss %.6f  val %.3f dB%s  lr %.2g  %.1f patches/s  %.1f GFLOP/s\n",
		t.step, t.epochs(), loss, psnr, valJPEG, t.learningRate(), patchesPerSec, gflops)
	fmt.Fprintf(t.csv, "%d,%.4f,%.8f,%.4f,%.6g,%.1f,%.2f\n", t.step, t.epochs(), loss, psnr, t.learningRate(), t.elapsed.Seconds(), patchesPerSec)
	if err := plotCurves(t.csvPath(), strings.TrimSuffix(t.out, filepath.Ext(t.out))+".png"); err != nil {
		t.log("warning: plot: %v", err)
	}
	if t.opts.Val == "" || psnr > t.best {
		if !math.IsNaN(psnr) {
			t.best = psnr
		}
		if err := t.saveWeights(psnr); err != nil {
			return err
		}
	}
	return t.saveCheckpoint()
}

// trainStep draws a batch, computes the gradient shard by shard (in
// parallel, summed in shard order so the result does not depend on the
// number of workers) and takes one Adam step. It returns the batch's loss
// (mean squared or absolute error, per -loss).
func (t *trainer) trainStep() (float64, error) {
	o := t.opts
	specs := make([]patchSpec, o.Batch)
	for i := range specs {
		specs[i] = t.data.sample(t.rng)
	}
	nShards := o.Batch / o.Shard
	type result struct {
		grads [][]float32
		sse   float64
		err   error
	}
	results := make([]result, nShards)
	norm := float32(1 / float64(o.Batch*o.Patch*o.Patch*t.model.Config.Channels))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(t.workers, nShards); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				g, sse, err := t.shardGradient(specs[s*o.Shard:(s+1)*o.Shard], norm)
				results[s] = result{g, sse, err}
			}
		}()
	}
	for s := 0; s < nShards; s++ {
		next <- s
	}
	close(next)
	wg.Wait()

	var sse float64
	params := t.model.Params()
	sum := make([][]float32, len(params))
	for _, r := range results {
		if r.err != nil {
			return 0, r.err
		}
		sse += r.sse
		for i, g := range r.grads {
			if sum[i] == nil {
				sum[i] = append([]float32(nil), g...)
				continue
			}
			for j, v := range g {
				sum[i][j] += v
			}
		}
	}
	loss := sse / float64(o.Batch*o.Patch*o.Patch*t.model.Config.Channels)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, errNonFinite
	}
	for i, p := range params {
		p.ZeroGrad()
		p.AccGrad(mat.NewDense[float32](mat.WithShape(p.Value().Shape()...), mat.WithBacking(sum[i])))
	}
	t.opt.StepSize = t.learningRate()
	t.opt.IncExample()
	for _, p := range params {
		if err := t.opt.OptimizeParams(p); err != nil {
			return 0, err
		}
	}
	return loss, nil
}

// shardGradient builds a shard's patches, runs the network on a copy of the
// parameters, and returns the gradient of the shard's part of the loss
// (norm times the sum of squared or absolute errors, which are returned).
func (t *trainer) shardGradient(specs []patchSpec, norm float32) ([][]float32, float64, error) {
	p, ch := t.opts.Patch, t.model.Config.Channels
	side := t.data.inputSide()
	n, nIn := len(specs)*p*p, len(specs)*side*side
	cfg := t.model.Config
	in := make([]float32, cfg.Inputs()*nIn)
	target := make([]float32, ch*n) // in the layout of the network's output
	pin, ptarget := make([]float32, ch*side*side), make([]float32, ch*p*p)
	var panchor []float32
	if cfg.LowRes() && cfg.Residual {
		panchor = make([]float32, ch*p*p)
	}
	s := max(1, cfg.Shuffle)
	for i, sp := range specs {
		if err := t.data.make(sp, pin, panchor, ptarget); err != nil {
			return nil, 0, fmt.Errorf("%s: %v", t.data.files[sp.img], err)
		}
		for c := 0; c < ch; c++ { // [C][B][H][W]
			copy(in[c*nIn+i*side*side:][:side*side], pin[c*side*side:][:side*side])
		}
		if cfg.Strength {
			plane := in[ch*nIn+i*side*side:][:side*side]
			for j := range plane {
				plane[j] = sp.strength
			}
		}
		// The target of a low-resolution network: its residual over the
		// anchor, space-to-depth, so that channel c*s*s + dy*s + dx of
		// cell (x, y) is output pixel (x*s + dx, y*s + dy).
		for c := 0; c < ch; c++ {
			for y := 0; y < p; y++ {
				for x := 0; x < p; x++ {
					v := ptarget[c*p*p+y*p+x]
					if panchor != nil {
						v -= panchor[c*p*p+y*p+x]
					}
					plane := c*s*s + (y%s)*s + x%s
					target[plane*nIn+i*side*side+(y/s)*side+x/s] = v
				}
			}
		}
	}
	m := t.model.Clone()
	x := mat.NewDense[float32](mat.WithShape(cfg.Inputs(), nIn), mat.WithBacking(in))
	y := m.Forward(x, len(specs), side, side)
	out := y.Value().Data().F32()
	grad := make([]float32, len(out))
	var sum float64
	l1 := t.opts.Loss == "l1"
	for i, v := range out {
		d := v - target[i]
		if l1 {
			sum += math.Abs(float64(d))
			switch {
			case d > 0:
				grad[i] = norm
			case d < 0:
				grad[i] = -norm
			}
			continue
		}
		sum += float64(d) * float64(d)
		grad[i] = 2 * norm * d
	}
	y.AccGrad(mat.NewDense[float32](mat.WithShape(y.Value().Shape()...), mat.WithBacking(grad)))
	if err := ag.Backward(y); err != nil {
		return nil, 0, err
	}
	var grads [][]float32
	for _, q := range m.Params() {
		g := q.Grad()
		if g == nil {
			grads = append(grads, make([]float32, q.Value().Size()))
			continue
		}
		grads = append(grads, g.Data().F32())
	}
	return grads, sum, nil
}
