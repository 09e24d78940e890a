// Package metrics measures images as the super-resolution literature does:
// PSNR and SSIM on Y planes with the border shaved (and SSIM's gradient,
// for training toward it), and NIQE. Evaluation and training use it; the
// page does not.
package metrics
