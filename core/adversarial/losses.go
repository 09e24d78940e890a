package adversarial

import (
	"fmt"
	"math"
)

// The GAN losses, on the discriminator's logits for real (high-resolution)
// and fake (generated) patches, averaged over the logits. Each returns the
// loss and its gradient with respect to every logit.
//
//   - "standard": the non-saturating GAN (Goodfellow et al. 2014). The
//     discriminator minimises softplus(-real) + softplus(fake), the
//     generator softplus(-fake).
//   - "relativistic": the relativistic average GAN of ESRGAN (Jolicoeur-
//     Martineau 2018): each side's logits judged against the other side's
//     mean. The discriminator minimises softplus(-(real - mean fake)) +
//     softplus(fake - mean real), the generator the same with the roles of
//     real and fake swapped.

// Kinds are the GAN losses by name.
var Kinds = []string{"standard", "relativistic"}

// DiscriminatorLoss is the discriminator's loss of the given kind.
func DiscriminatorLoss(kind string, real, fake []float32) (loss float64, gReal, gFake []float32, err error) {
	return ganLoss(kind, real, fake)
}

// GeneratorLoss is the generator's loss of the given kind: the
// discriminator's with real and fake swapped (for "standard", only the
// fake logits count).
func GeneratorLoss(kind string, real, fake []float32) (loss float64, gReal, gFake []float32, err error) {
	if kind == "standard" {
		loss, gFake = softplusMean(fake, -1, 0)
		return loss, make([]float32, len(real)), gFake, nil
	}
	loss, gFake, gReal, err = ganLoss(kind, fake, real)
	return loss, gReal, gFake, err
}

// ganLoss is the loss that pushes the logits of a up and those of b down.
func ganLoss(kind string, a, b []float32) (loss float64, ga, gb []float32, err error) {
	switch kind {
	case "standard":
		la, ga := softplusMean(a, -1, 0)
		lb, gb := softplusMean(b, 1, 0)
		return la + lb, ga, gb, nil
	case "relativistic":
		ma, mb := mean(a), mean(b)
		la, gaOwn := softplusMean(a, -1, mb)
		lb, gbOwn := softplusMean(b, 1, ma)
		// Each side's mean enters the other's term: d/da_i of the b term
		// is -(sum of its gradients)/len(a), and likewise.
		ga, gb = gaOwn, gbOwn
		sa, sb := sum(gaOwn), sum(gbOwn)
		for i := range ga {
			ga[i] -= float32(sb / float64(len(a)))
		}
		for i := range gb {
			gb[i] -= float32(sa / float64(len(b)))
		}
		return la + lb, ga, gb, nil
	}
	return 0, nil, nil, fmt.Errorf("GAN loss %q: want one of %v", kind, Kinds)
}

// softplusMean returns the mean over x of softplus(sign*(x - shift)) and
// its gradient with respect to each x.
func softplusMean(x []float32, sign, shift float64) (float64, []float32) {
	g := make([]float32, len(x))
	var loss float64
	n := float64(len(x))
	for i, v := range x {
		z := sign * (float64(v) - shift)
		loss += softplus(z) / n
		g[i] = float32(sign * sigmoid(z) / n)
	}
	return loss, g
}

// softplus is log(1 + e^z), without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func mean(x []float32) float64 { return sum(x) / float64(len(x)) }

func sum(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}
