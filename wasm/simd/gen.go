//go:build ignore

// Writes the SIMD module to site/gemm-simd.wasm (go generate ./wasm/simd).
package main

import (
	"log"
	"os"

	"github.com/srcnn-web/upscaler/wasm/simd"
)

func main() {
	if err := os.WriteFile("../../site/gemm-simd.wasm", simd.Module(), 0o644); err != nil {
		log.Fatal(err)
	}
}
