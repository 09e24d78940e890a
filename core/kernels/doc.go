// Package kernels holds the dense arithmetic the networks spend their time
// in: matrix products (GEMM, with B's rows at offsets for convolutions
// without im2col), axpy, dot products and activations, in Go and in
// AVX2/AVX-512 assembly, chosen for the CPU at start-up. Inference kernels
// keep Go's rounding so every platform gives the same pixels; training's
// may fuse. It knows nothing of images or networks.
package kernels
