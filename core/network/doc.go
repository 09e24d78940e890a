// Package network is the convolutional network: its Config and presets, the
// Model as spago parameters with our own convolution, ReLU and PReLU
// autograd operators, the ECB re-parameterized blocks training uses,
// inference without a graph (Infer, and the Inferer that tiles reuse), and
// the weights file format. It knows nothing of tiles, files on a page or
// training loops.
package network
