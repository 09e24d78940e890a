// Package degrade makes the low-resolution inputs of real-photo training:
// a random chain of blur, resizing, noise and JPEG compression in two
// rounds, then the final resize to the low-resolution size (after BSRGAN
// and Real-ESRGAN's second-order model), drawn from a seed at a severity
// from 0 (the clean bicubic shrink) to 1. It works on R, G, B planes on the
// 0..1 scale and knows nothing of networks or training loops.
package degrade
