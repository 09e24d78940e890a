package training

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/srcnn-web/upscaler/core/adversarial"
)

// GAN are the settings of adversarial training (Options.GAN): the
// generator (the network being trained) learns against a discriminator
// of its high-resolution Y output, beside its pixel loss. The zero value
// trains without one.
type GAN struct {
	Kind     string  // the loss: one of adversarial.Kinds
	Weight   float64 // the adversarial gradient's norm as a share of the pixel loss's (at the output)
	Artifact float64 // the weight of LDL's artifact term (adversarial.ArtifactMap); 0: none
	Widths   []int   // the discriminator's stage widths
	LR       float64 // the discriminator's learning rate (scheduled like the generator's)
	EMA      float64 // the decay of the generator's running average, LDL's reference (e.g. 0.999)
	Warmup   int     // steps in which only the discriminator learns from the adversarial loss
	Feature  float64 // the weight of feature matching (L1 between the discriminator's stage outputs for real and generated detail) beside the adversarial loss's 1; 0: none
	Spectral bool    // spectral normalisation of the discriminator (adversarial.Discriminator.Spectral)
	// Floor keeps the discriminator from winning outright: it learns only
	// at steps where its loss is at least Floor (0: at every step). Left
	// alone it drives its loss toward 0 (0.03-0.07 by steps 1,250-2,000 of
	// the Detailed runs), and the generator's NIQE drifts back up.
	Floor float64
	// Grid is the weight of the depth-to-space grid's term
	// (adversarial.GridError on the output's error; 0: none): the
	// discriminator floor's runs filled dark strokes with dots on the
	// output's 4-px grid, which neither the pixel loss nor LDL's map saw.
	// At weights 1-10 it keeps them out, and the NIQE they bought with them
	// (weights/README.md, session 20).
	Grid float64
	// GridFlat, when positive, keeps the grid term to where the target is
	// flat (adversarial.FlatWeights with this limit on a cell's standard
	// deviation), leaving edges, whose error also differs from phase to
	// phase, to the pixel loss.
	GridFlat float64
}

// On reports whether the run is adversarial.
func (g GAN) On() bool { return g.Weight > 0 }

// Check reports settings that cannot train.
func (g GAN) Check() error {
	if !g.On() {
		return nil
	}
	if !slices.Contains(adversarial.Kinds, g.Kind) {
		return fmt.Errorf("GAN loss %q: want one of %v", g.Kind, adversarial.Kinds)
	}
	if len(g.Widths) == 0 || g.LR <= 0 || g.Artifact < 0 || g.EMA < 0 || g.EMA >= 1 || g.Warmup < 0 || g.Feature < 0 || g.Floor < 0 || g.Grid < 0 || g.GridFlat < 0 {
		return fmt.Errorf("GAN settings %+v: want stage widths, a positive learning rate, artifact, feature and grid weights and the grid's flatness limit >= 0, an EMA decay in [0, 1), warm-up steps >= 0 and a loss floor >= 0", g)
	}
	if g.GridFlat > 0 && g.Grid == 0 {
		return fmt.Errorf("GAN settings: a grid flatness limit (%g) without a grid weight does nothing", g.GridFlat)
	}
	return nil
}

// startGAN makes the discriminator (from the run's seed), its optimizer and
// the generator's running average, or restores them from a checkpoint.
func (t *Trainer) startGAN(c *Checkpoint) error {
	g := t.opts.GAN
	if !g.On() {
		return nil
	}
	if err := g.Check(); err != nil {
		return err
	}
	if cfg := t.model.Config; cfg.Channels != 1 || !cfg.LowRes() || !cfg.Residual {
		return fmt.Errorf("adversarial training takes a residual low-resolution network on Y, not %s", cfg.Preset)
	}
	var err error
	if t.disc, err = adversarial.NewDiscriminator(g.Widths, rand.New(rand.NewPCG(t.opts.Seed, 0xd15c))); err != nil {
		return err
	}
	t.disc.Spectral = g.Spectral
	t.discOpt = adam.New(adam.Config{StepSize: g.LR, Beta1: 0.9, Beta2: 0.99, Epsilon: 1e-8})
	t.ema = t.model.Clone()
	if c == nil {
		return nil
	}
	if c.Disc == nil {
		return fmt.Errorf("the checkpoint holds no discriminator (made without adversarial training)")
	}
	if err := setValues(t.disc.Params(), c.Disc); err != nil {
		return fmt.Errorf("discriminator: %v", err)
	}
	if err := setValues(t.ema.Params(), c.EMA); err != nil {
		return fmt.Errorf("running average: %v", err)
	}
	t.discOpt.TimeStep = c.DiscAdamStep
	restoreAdam(t.disc.Params(), c.DiscAdamV, c.DiscAdamM)
	return nil
}

// saveGAN adds the discriminator, its optimizer and the running average to
// a checkpoint.
func (t *Trainer) saveGAN(c *Checkpoint) {
	if t.disc == nil {
		return
	}
	c.Disc, c.EMA = values(t.disc.Params()), values(t.ema.Params())
	c.DiscAdamV, c.DiscAdamM = adamMoments(t.disc.Params())
	c.DiscAdamStep = t.discOpt.TimeStep
}

// updateEMA moves the running average toward the generator's parameters.
func (t *Trainer) updateEMA() {
	d := float32(t.opts.GAN.EMA)
	ps := t.model.Params()
	for i, e := range t.ema.Params() {
		ev, pv := e.Value().Data().F32(), ps[i].Value().Data().F32()
		for j := range ev {
			ev[j] = d*ev[j] + (1-d)*pv[j]
		}
	}
}

// adversarialGrad adds to a shard's output gradient (grad, in the layout of
// the network's output out: residual planes before depth-to-space, b
// patches of side x side cells) the adversarial term's and, with their
// weights, LDL's artifact term's and the grid term's gradients, and returns the
// discriminator's gradient of its loss. real and anchor are the b
// high-resolution target patches and anchors (p x p each); in is the
// shard's input (for the running average's output); shards is how many
// shards the batch has, norm the pixel loss's 1/(batch pixels). It returns
// the shard's discriminator and adversarial losses too.
func (t *Trainer) adversarialGrad(in mat.Tensor, out, grad, real, anchor []float32, b, p, side, shards int, norm float32) (dGrads [][]float32, dLoss, gLoss float64, err error) {
	s := p / side
	n := b * side * side
	at := outputAt(s, n, side)
	// The discriminator judges the detail over the anchor (the bicubic
	// enlargement both sides share), scaled to about unit size: a real
	// patch's residual against the generator's. Without the shared low
	// frequencies to look through it learns in hundreds of steps, not
	// thousands.
	fake, fakeDetail, realDetail := make([]float32, b*p*p), make([]float32, b*p*p), make([]float32, b*p*p)
	for i := range b {
		for y := range p {
			for x := range p {
				j := i*p*p + y*p + x
				fake[j] = anchor[j] + out[at(i, x, y)]
				fakeDetail[j] = detailGain * out[at(i, x, y)]
				realDetail[j] = detailGain * (real[j] - anchor[j])
			}
		}
	}
	perShard := 1 / float64(shards) // the losses are shard means; the batch's is their mean
	dGrads, dLoss, realLogits, err := t.discriminatorGrad(realDetail, fakeDetail, b, p, perShard)
	if err != nil || t.step < t.opts.GAN.Warmup {
		return dGrads, dLoss, 0, err
	}
	gx, gLoss, err := t.generatorAdversarialGrad(realDetail, fakeDetail, realLogits, b, p, perShard)
	if err != nil {
		return nil, 0, 0, err
	}
	// The adversarial gradient is scaled to Weight times the pixel loss's
	// gradient norm (VQGAN's adaptive weight, Esser et al. 2021, taken at
	// the output): an unregularised discriminator's input gradients grow
	// by orders of magnitude as it grows confident, and a fixed weight
	// blew the generator up within 200 steps of the warm-up's end at
	// weights 0.02 and 0.005 alike.
	var pixelNorm, advNorm float64
	for _, v := range grad {
		pixelNorm += float64(v) * float64(v)
	}
	for _, v := range gx {
		advNorm += float64(v) * float64(v)
	}
	k := float32(t.opts.GAN.Weight * math.Sqrt(pixelNorm/max(advNorm, 1e-30)))
	for i := range b {
		for y := range p {
			for x := range p {
				grad[at(i, x, y)] += k * gx[i*p*p+y*p+x]
			}
		}
	}
	if t.opts.GAN.Artifact > 0 {
		t.addArtifactGrad(in, grad, real, anchor, fake, b, p, side, norm, at)
	}
	if t.opts.GAN.Grid > 0 {
		e := make([]float32, len(out))
		for i := range b {
			for y := range p {
				for x := range p {
					e[at(i, x, y)] = fake[i*p*p+y*p+x] - real[i*p*p+y*p+x]
				}
			}
		}
		var flat []float32
		if t.opts.GAN.GridFlat > 0 {
			flat = adversarial.FlatWeights(real, b, p, s, t.opts.GAN.GridFlat)
		}
		_, g := adversarial.GridError(e, s, b, side, flat)
		for j, v := range g {
			grad[j] += float32(t.opts.GAN.Grid) * norm * v
		}
	}
	return dGrads, dLoss, gLoss, nil
}

// discriminatorGrad is the discriminator's gradient of its loss on a
// shard's real and generated detail (the generated held constant), the
// loss, and the logits of the real patches.
func (t *Trainer) discriminatorGrad(realDetail, fakeDetail []float32, b, p int, perShard float64) (grads [][]float32, loss float64, realLogits []float32, err error) {
	dd := t.disc.Clone()
	lr, _, _ := dd.Forward(mat.NewDense[float32](mat.WithShape(1, len(realDetail)), mat.WithBacking(realDetail)), b, p, p)
	lf, _, _ := dd.Forward(mat.NewDense[float32](mat.WithShape(1, len(fakeDetail)), mat.WithBacking(slices.Clone(fakeDetail))), b, p, p)
	realLogits = lr.Value().Data().F32()
	loss, gReal, gFake, err := adversarial.DiscriminatorLoss(t.opts.GAN.Kind, realLogits, lf.Value().Data().F32())
	if err != nil {
		return nil, 0, nil, err
	}
	lr.AccGrad(seed(gReal, perShard))
	lf.AccGrad(seed(gFake, perShard))
	if err := ag.Backward(lr, lf); err != nil {
		return nil, 0, nil, err
	}
	for _, q := range dd.Params() {
		if q.Grad() == nil {
			grads = append(grads, make([]float32, q.Value().Size()))
			continue
		}
		grads = append(grads, q.Grad().Data().F32())
	}
	return grads, loss, realLogits, nil
}

// generatorAdversarialGrad is the gradient, with respect to the generated
// detail, of the generator's adversarial loss and, with a feature weight,
// of feature matching, through a fresh copy of the discriminator; and the
// adversarial loss.
func (t *Trainer) generatorAdversarialGrad(realDetail, fakeDetail, realLogits []float32, b, p int, perShard float64) ([]float32, float64, error) {
	g := t.opts.GAN
	dg := t.disc.Clone()
	x := mat.NewDense[float32](mat.WithShape(1, len(fakeDetail)), mat.WithBacking(fakeDetail), mat.WithGrad(true))
	ff, lg, _, _ := dg.Features(x, b, p, p)
	loss, _, gFake, err := adversarial.GeneratorLoss(g.Kind, realLogits, lg.Value().Data().F32())
	if err != nil {
		return nil, 0, err
	}
	lg.AccGrad(seed(gFake, perShard))
	roots := []mat.Tensor{lg}
	if g.Feature > 0 {
		// Feature matching: the generated detail's features pulled toward
		// the real patch's, stage by stage (Salimans et al. 2016, pix2pixHD).
		fr, _, _, _ := t.disc.Clone().Features(mat.NewDense[float32](mat.WithShape(1, len(realDetail)), mat.WithBacking(realDetail)), b, p, p)
		for l, f := range ff {
			a, r := f.Value().Data().F32(), fr[l].Value().Data().F32()
			gl := make([]float32, len(a))
			for i := range a {
				if d := a[i] - r[i]; d != 0 {
					gl[i] = float32(math.Copysign(g.Feature*perShard/float64(len(a)), float64(d)))
				}
			}
			f.AccGrad(mat.NewDense[float32](mat.WithShape(f.Value().Shape()...), mat.WithBacking(gl)))
			roots = append(roots, f)
		}
	}
	if err := ag.Backward(roots...); err != nil {
		return nil, 0, err
	}
	return x.Grad().Data().F32(), loss, nil
}

// addArtifactGrad adds LDL's artifact term's gradient to a shard's output
// gradient: L1 where the map says the output draws artifacts rather than
// detail, the map held constant (adversarial.ArtifactMap, against the
// running average's output on the same input).
func (t *Trainer) addArtifactGrad(in mat.Tensor, grad, real, anchor, fake []float32, b, p, side int, norm float32, at func(i, x, y int) int) {
	emaOut := t.ema.Clone().Forward(in, b, side, side).Value().Data().F32()
	ema := make([]float32, p*p)
	for i := range b {
		outputPatch(ema, anchor, emaOut, at, i, p)
		o := i * p * p
		m := adversarial.ArtifactMap(real[o:o+p*p], fake[o:o+p*p], ema, p, p)
		for y := range p {
			for x := range p {
				j := o + y*p + x
				if d := fake[j] - real[j]; d != 0 {
					grad[at(i, x, y)] += float32(t.opts.GAN.Artifact) * norm * m[y*p+x] * float32(math.Copysign(1, float64(d)))
				}
			}
		}
	}
}

// detailGain scales the residuals the discriminator sees (a few hundredths
// of the 0..1 range in a photo) to about unit size.
const detailGain = 16

// seed is a logits' gradient scaled, as a matrix to accumulate.
func seed(g []float32, scale float64) mat.Matrix {
	out := make([]float32, len(g))
	for i, v := range g {
		out[i] = float32(float64(v) * scale)
	}
	return mat.NewDense[float32](mat.WithShape(1, len(out)), mat.WithBacking(out))
}
