//go:build js

// Command viewer is the page's compare view, an ebiten game in its own
// frame (site/viewer.html): the bicubic enlargement on the left of a
// draggable divider, the enhanced image on the right. Wheel or pinch zooms
// around the pointer, dragging pans, "1" shows pixels 1:1 (nearest
// filtering from 1:1 up), "f" fits the image to the window. The page feeds
// it pixels through window.upscalerViewer (see bridge.go).
package main

import (
	"log"
	"runtime/debug"

	"github.com/hajimehoshi/ebiten/v2"
)

func main() {
	// A WebAssembly program's memory only grows: collect garbage before the
	// heap doubles, so its peak stays near what is live.
	debug.SetGCPercent(gcPercent)
	v := newViewer()
	registerBridge(v)
	ebiten.SetWindowTitle("Compare")
	ebiten.SetRunnableOnUnfocused(true)
	ebiten.SetScreenClearedEveryFrame(false)
	// No frames at all while nothing happens: ebiten runs Update and Draw
	// on input, and when the page sends something (ScheduleFrame).
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum) //nolint:staticcheck // the only way to stop the idle game loop
	if err := ebiten.RunGame(v); err != nil {
		log.Fatal(err)
	}
}

// gcPercent is the heap growth (GOGC) between collections.
const gcPercent = 25
