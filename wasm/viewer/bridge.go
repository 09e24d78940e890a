//go:build js

package main

import (
	"image"
	"syscall/js"

	"github.com/hajimehoshi/ebiten/v2"
)

// registerBridge exposes the viewer to the page as window.upscalerViewer:
//
//	open(width, height, scale)                  start a new image, enlarged scale times
//	source(y, rows)                             full-width RGBA rows of the source (Uint8Array)
//	put(x, y, w, h, enhanced)                   an RGBA region of the enhanced image
//	fit(), actual()                             fit to window, 1:1 pixels
//	state()                                     {zoom, offsetX, offsetY, divider, width, height, cursorX, cursorY, screenW}
func registerBridge(v *viewer) {
	// The arrays come from the page's window, another realm: view their
	// buffers through this frame's Uint8Array before copying.
	u8 := js.Global().Get("Uint8Array")
	bytesOf := func(a js.Value) []byte {
		view := u8.New(a.Get("buffer"), a.Get("byteOffset"), a.Get("byteLength"))
		b := make([]byte, view.Get("length").Int())
		js.CopyBytesToGo(b, view)
		return b
	}
	api := map[string]any{
		"open": js.FuncOf(func(_ js.Value, a []js.Value) any {
			scale := 1
			if len(a) > 2 && a[2].Type() == js.TypeNumber {
				scale = a[2].Int()
			}
			v.Open(a[0].Int(), a[1].Int(), scale)
			return nil
		}),
		"source": js.FuncOf(func(_ js.Value, a []js.Value) any {
			v.Source(a[0].Int(), bytesOf(a[1]))
			return nil
		}),
		"put": js.FuncOf(func(_ js.Value, a []js.Value) any {
			r := image.Rect(a[0].Int(), a[1].Int(), a[0].Int()+a[2].Int(), a[1].Int()+a[3].Int())
			v.Put(r, bytesOf(a[4]))
			return nil
		}),
		"fit":    js.FuncOf(func(js.Value, []js.Value) any { v.Command("fit"); return nil }),
		"actual": js.FuncOf(func(js.Value, []js.Value) any { v.Command("actual"); return nil }),
		"state": js.FuncOf(func(js.Value, []js.Value) any {
			s := v.State()
			cx, cy := ebiten.CursorPosition()
			return map[string]any{"zoom": s.Zoom, "offsetX": s.OffX, "offsetY": s.OffY,
				"divider": s.Divider, "width": s.W, "height": s.H, "cursorX": cx, "cursorY": cy, "screenW": v.screenW}
		}),
	}
	js.Global().Set("upscalerViewer", api)
	if ready := js.Global().Get("onViewerReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
}
