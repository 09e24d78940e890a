//go:build !js

package main

import (
	"fmt"
	"os"
)

// The worker runs in a browser (GOOS=js GOARCH=wasm); natively this package
// exists only so that its session logic can be tested.
func main() {
	fmt.Fprintln(os.Stderr, "the compute worker runs in a browser: build it with GOOS=js GOARCH=wasm (go run . does)")
	os.Exit(2)
}
