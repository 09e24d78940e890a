//go:build !amd64 || purego

package kernels

// archKernels: this build has no kernels besides the pure-Go one.
var archKernels []namedKernel
