package main

import (
	"context"
	"io"

	"github.com/srcnn-web/upscaler/core"
)

func runUpscale(args []string, stdout, stderr io.Writer) error {
	_ = context.Background
	_ = core.DefaultTile
	return usagef("not yet")
}
