// Package metrics measures images as the super-resolution literature does:
// PSNR and SSIM on Y planes with the border shaved. Evaluation and training
// use it; the page does not.
package metrics
