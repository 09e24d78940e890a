package training

import (
	"context"
	"encoding/csv"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"
	"github.com/schollz/progressbar/v3"
	"github.com/srcnn-web/upscaler/core/adversarial"
	"github.com/srcnn-web/upscaler/core/metrics"
	"github.com/srcnn-web/upscaler/core/network"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Options are the settings of a training run. A checkpoint stores them,
// and -resume continues only a run with the same settings.
type Options struct {
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
	JPEG        JPEGBand
	Strength    bool // the network reads the denoise strength as one more input
	ValJPEG     int  // > 0: validation also on LR images saved as JPEG at this quality
	Degrade     DegradeBand
	ValPairs    string // validation also on these given LR/HR pairs, at ValStrength
	ValStrength float32
	// PairStrength is the strength a network that reads one is told on
	// the given LR/HR pairs among Data's folders.
	PairStrength float32
	Estimate     bool       // train a degradation estimator: its target at every pixel is the patch's severity
	GAN          GAN        // adversarial training (the zero value: none)
	Sharpen      Sharpening // the targets sharpened (the zero value: as they are)
	// SSIM > 0 adds SSIM times (1 - SSIM) of each output patch against its
	// target (metrics.SSIM's window) to the pixel loss of a network on Y
	// at the input's resolution; the loss logged stays the pixel loss.
	SSIM float64
}

// checkpoint is everything needed to continue a run exactly.
type Checkpoint struct {
	Version  int
	Options  Options
	Config   network.Config
	Step     int
	Params   [][]float32
	AdamV    [][]float32
	AdamM    [][]float32
	AdamStep int
	RNG      []byte
	BestPSNR float64
	Elapsed  time.Duration
	Command  string

	// Adversarial runs: the discriminator, its Adam state, and the
	// generator's running average.
	Disc, DiscAdamV, DiscAdamM [][]float32
	DiscAdamStep               int
	EMA                        [][]float32
}

const checkpointVersion = 1

// Validator scores a model on the run's validation data: the number the
// best weights are kept by (higher is better), and what to log beside it.
type Validator func(m *network.Model) (score float64, detail string, err error)

// Trainer holds a run's state.
type Trainer struct {
	opts     Options
	data     *Dataset
	workers  int
	out      string
	ckptPath string
	command  string
	log      func(string, ...any)
	validate Validator // nil: no validation; every report saves the weights

	model   *network.Model
	opt     *adam.Adam
	rng     *rand.Rand
	pcg     *rand.PCG
	step    int
	best    float64
	elapsed time.Duration
	lossSum float64
	lossN   int
	csv     *os.File

	disc         *adversarial.Discriminator // adversarial runs only
	discOpt      *adam.Adam
	ema          *network.Model // the generator's running average
	dLoss, gLoss float64        // the adversarial losses since the last report
	dSteps       int            // steps since the last report at which the discriminator learned
}

// NewTrainer returns a trainer for a run with options o on data, on
// workers goroutines (results do not depend on it), writing its best
// weights to out (with .csv and .png beside them) and its checkpoint to
// ckptPath; command is recorded in both; log takes progress lines; validate
// may be nil. Start or Resume it, then Run it.
func NewTrainer(o Options, data *Dataset, workers int, out, ckptPath, command string, log func(string, ...any), validate Validator) *Trainer {
	return &Trainer{opts: o, data: data, workers: workers, out: out, ckptPath: ckptPath, command: command, log: log, validate: validate}
}

// Model returns the model being trained.
func (t *Trainer) Model() *network.Model { return t.model }

// newModel returns a freshly initialised model of the run's kind: with
// re-parameterized layers for a low-resolution preset unless -plain.
func (o Options) newModel(cfg network.Config, rng *rand.Rand) (*network.Model, error) {
	if cfg.LowRes() && !o.Plain {
		return network.NewECBModel(cfg, rng)
	}
	return network.NewModel(cfg, rng)
}

// setParams copies saved parameter values into m, in Params order.
func setParams(m *network.Model, data [][]float32) error {
	return setValues(m.Params(), data)
}

// setValues copies saved values into parameters, in order.
func setValues(ps []*nn.Param, data [][]float32) error {
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

// values lists parameters' values, in order.
func values(ps []*nn.Param) [][]float32 {
	var out [][]float32
	for _, p := range ps {
		out = append(out, p.Value().Data().F32())
	}
	return out
}

// adamMoments lists the Adam moments of parameters, nil where a parameter
// has taken no step.
func adamMoments(ps []*nn.Param) (v, m [][]float32) {
	for _, p := range ps {
		if s, ok := p.State.(*adam.State); ok {
			v, m = append(v, s.V.Data().F32()), append(m, s.M.Data().F32())
		} else {
			v, m = append(v, nil), append(m, nil)
		}
	}
	return v, m
}

// restoreAdam gives parameters their saved Adam moments.
func restoreAdam(ps []*nn.Param, v, m [][]float32) {
	for i, p := range ps {
		if i >= len(v) || v[i] == nil {
			continue
		}
		shape := p.Value().Shape()
		dense := func(d []float32) mat.Matrix {
			return mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(append([]float32(nil), d...)))
		}
		zero := func() mat.Matrix { return mat.NewDense[float32](mat.WithShape(shape...)) }
		p.State = &adam.State{V: dense(v[i]), M: dense(m[i]), Buf1: zero(), Buf2: zero(), Buf3: zero()}
	}
}

// ReadCheckpoint decodes a checkpoint file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c Checkpoint
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("%s is not a readable checkpoint: %v", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("%s has checkpoint version %d, want %d", path, c.Version, checkpointVersion)
	}
	return &c, nil
}

// InitFromCheckpoint copies into m, layer by layer, a checkpoint's
// parameters where the layers have the same shape, or where m's layer only
// reads one more input (the strength plane, which starts at zero weight): a
// x2 run's head and body into a x3 or x4 model, whose tail differs, or a
// clean run into a JPEG-aware one. It returns how many layers it copied.
func InitFromCheckpoint(m *network.Model, path string) (int, error) {
	c, err := ReadCheckpoint(path)
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

// Start begins a new run of a network of cfg: initialised from the seed,
// or from -init's checkpoint or weights.
func (t *Trainer) Start(cfg network.Config) error {
	t.pcg = rand.NewPCG(t.opts.Seed, 0x5eed)
	t.rng = rand.New(t.pcg)
	m, err := t.opts.newModel(cfg, t.rng)
	if err != nil {
		return err
	}
	if strings.HasSuffix(t.opts.Init, ".ckpt") {
		n, err := InitFromCheckpoint(m, t.opts.Init)
		if err != nil {
			return fmt.Errorf("-init: %v", err)
		}
		t.log("initialised %d of %d layers from %s", n, len(m.Config.Layers), t.opts.Init)
	} else if t.opts.Init != "" {
		if m.Branches != nil {
			return fmt.Errorf("-init %s: a re-parameterized run starts from a checkpoint (.ckpt), which keeps the branches", t.opts.Init)
		}
		im, _, err := network.LoadWeightsFile(t.opts.Init)
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
	if err := t.startGAN(nil); err != nil {
		return err
	}
	return t.openCSV(false)
}

func (t *Trainer) csvPath() string {
	return strings.TrimSuffix(t.out, filepath.Ext(t.out)) + ".csv"
}

func (t *Trainer) openCSV(appendTo bool) error {
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

// Resume continues the run in the checkpoint, which must have been made
// with the same options (but for the step count).
func (t *Trainer) Resume() error {
	c, err := ReadCheckpoint(t.ckptPath)
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
	restoreAdam(t.model.Params(), c.AdamV, c.AdamM)
	t.pcg = rand.NewPCG(0, 0)
	if err := t.pcg.UnmarshalBinary(c.RNG); err != nil {
		return fmt.Errorf("-resume: %v", err)
	}
	t.rng = rand.New(t.pcg)
	t.step, t.best, t.elapsed = c.Step, c.BestPSNR, c.Elapsed
	if err := t.startGAN(c); err != nil {
		return fmt.Errorf("-resume: %v", err)
	}
	t.log("resuming %s at step %d (best validation PSNR %.3f dB)", t.ckptPath, t.step, t.best)
	return t.openCSV(true)
}

// saveCheckpoint writes the run's state atomically.
func (t *Trainer) saveCheckpoint() error {
	c := Checkpoint{Version: checkpointVersion, Options: t.opts, Config: t.model.Config, Step: t.step,
		AdamStep: t.opt.TimeStep, BestPSNR: t.best, Elapsed: t.elapsed, Command: t.command}
	c.Params = values(t.model.Params())
	c.AdamV, c.AdamM = adamMoments(t.model.Params())
	t.saveGAN(&c)
	var err error
	if c.RNG, err = t.pcg.MarshalBinary(); err != nil {
		return err
	}
	return WriteAtomic(t.ckptPath, func(w io.Writer) error { return gob.NewEncoder(w).Encode(&c) })
}

// WriteAtomic writes a file through a temporary file in the same folder and
// renames it into place, so that no reader ever sees a partial file.
func WriteAtomic(path string, write func(io.Writer) error) error {
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

// Export writes the weights at a checkpoint's step to out, with its run's
// record (data, command, steps, training time; epochs from the data's
// area, warn told of unusable images), after set has changed the network
// (its Config.Sharpen, say): to ship a step chosen by other measures than
// the run's validation.
func Export(ckptPath, out string, set func(*network.Model) error, warn func(string)) error {
	c, err := ReadCheckpoint(ckptPath)
	if err != nil {
		return err
	}
	o := c.Options
	m, err := o.newModel(c.Config, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return err
	}
	if err := setParams(m, c.Params); err != nil {
		return fmt.Errorf("%s: %v", ckptPath, err)
	}
	if err := set(m); err != nil {
		return err
	}
	data, err := OpenDataset(o.Data, o.Scale, o.Patch, c.Config.Channels, o.JPEG, o.Degrade, 0, warn)
	if err != nil {
		return fmt.Errorf("the run's data: %v", err)
	}
	info := network.TrainingInfo{Data: o.Data, Val: o.Val, Command: c.Command, Steps: c.Step, WallTime: c.Elapsed, Exported: true,
		Epochs: float64(c.Step) * float64(o.Batch*o.Patch*o.Patch) / float64(data.Area())}
	return WriteAtomic(out, func(w io.Writer) error { return network.SaveWeights(w, m, o.Scale, info) })
}

func (t *Trainer) saveWeights(psnr float64) error {
	info := network.TrainingInfo{Data: t.opts.Data, Val: t.opts.Val, Command: t.command, Steps: t.step,
		Epochs: t.epochs(), WallTime: t.elapsed, ValPSNR: psnr}
	return WriteAtomic(t.out, func(w io.Writer) error { return network.SaveWeights(w, t.model, t.opts.Scale, info) })
}

func (t *Trainer) epochs() float64 {
	return float64(t.step) * float64(t.opts.Batch*t.opts.Patch*t.opts.Patch) / float64(t.data.Area())
}

func (t *Trainer) learningRate() float64 {
	lr := t.opts.LR
	if t.opts.DecayEvery > 0 {
		lr *= math.Pow(t.opts.DecayFactor, float64(t.step/t.opts.DecayEvery))
	}
	return lr
}

// errNonFinite stops a run whose loss is no longer a number.
var errNonFinite = errors.New("non-finite loss")

// Run trains until the run's last step or until ctx is done (then it writes
// a checkpoint and returns nil), printing a report line to stdout at every
// validation and a progress bar to stderr unless quiet.
func (t *Trainer) Run(ctx context.Context, stdout, stderr io.Writer, quiet bool) error {
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
func (t *Trainer) report(stdout io.Writer, patchesPerSec, gflops float64) error {
	steps := float64(max(1, t.lossN))
	loss := t.lossSum / steps
	t.lossSum, t.lossN = 0, 0
	psnr, detail := math.NaN(), ""
	if t.validate != nil {
		var err error
		if psnr, detail, err = t.validate(t.model); err != nil {
			return fmt.Errorf("validation: %v", err)
		}
	}
	unit := " dB"
	if t.opts.Estimate || t.disc != nil {
		unit = "" // the estimator's score is its negated mean error, a GAN's its validator's
	}
	if t.disc != nil {
		detail += fmt.Sprintf("  D %.4f G %.4f", t.dLoss/steps, t.gLoss/steps)
		if t.opts.GAN.Floor > 0 {
			detail += fmt.Sprintf(" (D learned at %d of %.0f steps)", t.dSteps, steps)
		}
		t.dLoss, t.gLoss, t.dSteps = 0, 0, 0
	}
	fmt.Fprintf(stdout, "step %d  epoch %.2f  loss %.6f  val %.3f%s%s  lr %.2g  %.1f patches/s  %.1f GFLOP/s\n",
		t.step, t.epochs(), loss, psnr, unit, detail, t.learningRate(), patchesPerSec, gflops)
	fmt.Fprintf(t.csv, "%d,%.4f,%.8f,%.4f,%.6g,%.1f,%.2f\n", t.step, t.epochs(), loss, psnr, t.learningRate(), t.elapsed.Seconds(), patchesPerSec)
	if err := PlotCurves(t.csvPath(), strings.TrimSuffix(t.out, filepath.Ext(t.out))+".png"); err != nil {
		t.log("warning: plot: %v", err)
	}
	if t.validate == nil || psnr > t.best {
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
func (t *Trainer) trainStep() (float64, error) {
	o := t.opts
	specs := make([]patchSpec, o.Batch)
	for i := range specs {
		specs[i] = t.data.sample(t.rng)
	}
	nShards := o.Batch / o.Shard
	type result struct {
		grads        [][]float32 // the generator's, then the discriminator's
		sse          float64
		dLoss, gLoss float64
		err          error
	}
	results := make([]result, nShards)
	norm := float32(1 / float64(o.Batch*t.outputsPerPatch()))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(t.workers, nShards); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				r := &results[s]
				r.grads, r.sse, r.dLoss, r.gLoss, r.err = t.shardGradient(specs[s*o.Shard:(s+1)*o.Shard], norm, nShards)
			}
		}()
	}
	for s := 0; s < nShards; s++ {
		next <- s
	}
	close(next)
	wg.Wait()

	var sse, dLoss float64
	params := t.model.Params()
	if t.disc != nil {
		params = append(params, t.disc.Params()...)
	}
	sum := make([][]float32, len(params))
	for _, r := range results {
		if r.err != nil {
			return 0, r.err
		}
		sse += r.sse
		dLoss += r.dLoss / float64(nShards)
		t.gLoss += r.gLoss / float64(nShards)
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
	loss := sse / float64(o.Batch*t.outputsPerPatch())
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, errNonFinite
	}
	for i, p := range params {
		p.ZeroGrad()
		p.AccGrad(mat.NewDense[float32](mat.WithShape(p.Value().Shape()...), mat.WithBacking(sum[i])))
	}
	t.opt.StepSize = t.learningRate()
	t.opt.IncExample()
	nGen := len(t.model.Params())
	for _, p := range params[:nGen] {
		if err := t.opt.OptimizeParams(p); err != nil {
			return 0, err
		}
	}
	if t.disc != nil {
		t.dLoss += dLoss
		if dLoss >= t.opts.GAN.Floor {
			t.dSteps++
			t.discOpt.StepSize = t.learningRate() * t.opts.GAN.LR / t.opts.LR
			t.discOpt.IncExample()
			for _, p := range params[nGen:] {
				if err := t.discOpt.OptimizeParams(p); err != nil {
					return 0, err
				}
			}
		}
		t.updateEMA()
	}
	return loss, nil
}

// estimatorGrad scores patch i of an estimator's output (batch patches of
// n pixels, two planes: value v, weight w) against its severity: the
// estimate is the softmax(w)-weighted mean of v. It writes norm times the
// loss's gradient into grad and returns the loss (absolute or squared).
func estimatorGrad(out, grad []float32, i, batch, n int, severity, norm float32, l1 bool) float64 {
	v, w := out[i*n:][:n], out[batch*n+i*n:][:n]
	gv, gw := grad[i*n:][:n], grad[batch*n+i*n:][:n]
	p := make([]float64, n)
	est := network.SoftmaxMean(v, w, p)
	d := est - float64(severity)
	g := 2 * d
	if l1 {
		g = math.Copysign(1, d)
	}
	for j := range p {
		gv[j] = norm * float32(g*p[j])
		gw[j] = norm * float32(g*p[j]*(float64(v[j])-est))
	}
	if l1 {
		return math.Abs(d)
	}
	return d * d
}

// outputsPerPatch is how many values the loss compares per patch: every
// output pixel's channels, or for an estimator its one pooled estimate.
func (t *Trainer) outputsPerPatch() int {
	if t.opts.Estimate {
		return 1
	}
	return t.opts.Patch * t.opts.Patch * t.model.Config.Channels
}

// shardGradient builds a shard's patches, runs the network on a copy of the
// parameters, and returns the gradient of the shard's part of the loss
// (norm times the sum of squared or absolute errors, which are returned),
// one of shards. In an adversarial run the generator's gradient has the
// adversarial terms too and is followed by the discriminator's; the
// shard's two adversarial losses are returned.
func (t *Trainer) shardGradient(specs []patchSpec, norm float32, shards int) (grads [][]float32, sse, dLoss, gLoss float64, err error) {
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
	var real, anchor []float32 // the high-resolution patches, for the discriminator and SSIM
	if t.disc != nil || t.opts.SSIM > 0 {
		real, anchor = make([]float32, len(specs)*p*p), make([]float32, len(specs)*p*p)
	}
	for i, sp := range specs {
		if err := t.data.make(sp, pin, panchor, ptarget); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("%s: %v", t.data.files[sp.img], err)
		}
		if real != nil {
			copy(real[i*p*p:], ptarget[:p*p])
			copy(anchor[i*p*p:], panchor[:p*p])
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
		if t.opts.Estimate {
			continue // its target is the patch's severity, below
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
	if t.opts.Estimate {
		for i, sp := range specs {
			sum += estimatorGrad(out, grad, i, len(specs), side*side, sp.strength, norm, t.opts.Loss == "l1")
		}
	} else {
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
	}
	if t.opts.SSIM > 0 {
		t.addSSIMGrad(out, grad, real, anchor, len(specs), p, side, norm)
	}
	var dGrads [][]float32
	if t.disc != nil {
		dGrads, dLoss, gLoss, err = t.adversarialGrad(x, out, grad, real, anchor, len(specs), p, side, shards, norm)
		if err != nil {
			return nil, 0, 0, 0, err
		}
	}
	y.AccGrad(mat.NewDense[float32](mat.WithShape(y.Value().Shape()...), mat.WithBacking(grad)))
	if err := ag.Backward(y); err != nil {
		return nil, 0, 0, 0, err
	}
	for _, q := range m.Params() {
		g := q.Grad()
		if g == nil {
			grads = append(grads, make([]float32, q.Value().Size()))
			continue
		}
		grads = append(grads, g.Data().F32())
	}
	return append(grads, dGrads...), sum, dLoss, gLoss, nil
}

// addSSIMGrad adds the gradient of SSIM times (1 - SSIM) of each of b
// output patches (p x p, Y, the anchor plus the network's residual) against
// its target, per patch, in the units of the pixel loss's (norm per pixel:
// a patch's mean), into grad.
func (t *Trainer) addSSIMGrad(out, grad, real, anchor []float32, b, p, side int, norm float32) {
	at := outputAt(p/side, b*side*side, side)
	fake := make([]float32, p*p)
	for i := range b {
		outputPatch(fake, anchor, out, at, i, p)
		_, g := metrics.SSIMGrad(fake, real[i*p*p:][:p*p], p, p)
		k := -t.opts.SSIM * float64(norm) * float64(p*p)
		for y := range p {
			for x := range p {
				grad[at(i, x, y)] += float32(k * g[y*p+x])
			}
		}
	}
}

// outputPatch writes high-resolution patch i (p x p) of a low-resolution
// network's output into dst: its anchor plus the network's residual, read
// through at (see outputAt).
func outputPatch(dst, anchor, out []float32, at func(i, x, y int) int, i, p int) {
	for y := range p {
		for x := range p {
			dst[y*p+x] = anchor[i*p*p+y*p+x] + out[at(i, x, y)]
		}
	}
}

// outputAt maps high-resolution pixel (x, y) of patch i to its value in a
// low-resolution network's output (depth-to-space by s; n values a plane,
// patches side x side cells).
func outputAt(s, n, side int) func(i, x, y int) int {
	return func(i, x, y int) int { return ((y%s)*s+x%s)*n + i*side*side + (y/s)*side + x/s }
}

// PlotCurves draws the training loss and the validation PSNR from a run's
// CSV log into a PNG, one panel above the other.
func PlotCurves(csvPath, pngPath string) error {
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
	return WriteAtomic(pngPath, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}
