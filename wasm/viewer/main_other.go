//go:build !js

// Command viewer is the page's compare view; it runs only in a browser.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "the viewer runs in a browser: build it with GOOS=js GOARCH=wasm (go run . does)")
	os.Exit(2)
}
