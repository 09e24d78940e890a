// Package core is the upscaling pipeline the page and the command line
// share: an Enhancer cuts an image into tiles, runs a network on Y with its
// anchor (package network), merges Cb, Cr and alpha back (package imaging),
// and gives the same pixels tiled or whole. It also holds the strength
// rules: which network runs for a JPEG's quality or a chosen level.
package core
