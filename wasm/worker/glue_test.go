//go:build js

package main

import (
	"syscall/js"
	"testing"
)

// TestHandleMessages drives the worker as the page does, with JS values.
func TestHandleMessages(t *testing.T) {
	s, sv := NewSession(), NewSaver()
	weights, _ := tinyWeights(t, 2)
	call := func(msg map[string]any) js.Value {
		t.Helper()
		return js.ValueOf(handle(s, sv, js.ValueOf(msg)))
	}
	if r := call(map[string]any{"op": "model", "id": 0, "name": "general-x2", "weights": toJS(weights)}); !r.Get("error").IsUndefined() {
		t.Fatal(r.Get("error"))
	}
	r := call(map[string]any{"op": "open", "id": 1, "file": toJS(pngOf(t, noiseImage(20, 10, false))).Get("buffer"), "preview": true})
	if r.Get("width").Int() != 20 || r.Get("height").Int() != 10 || r.Get("preview").Length() != 20*10*4 || r.Get("quality").Int() != 0 {
		t.Fatalf("open: %v", r.Get("error"))
	}
	r = call(map[string]any{"op": "start", "id": 1, "model": "general-x2"})
	if r.Get("width").Int() != 40 || r.Get("tiles").Length() != 1 {
		t.Fatalf("start: %v", r.Get("error"))
	}
	r = call(map[string]any{"op": "tile", "id": 1, "tile": r.Get("tiles").Index(0)})
	if n := r.Get("enhanced").Length(); n != 40*20*4 || r.Get("transfer").Length() != 1 {
		t.Fatalf("tile: %d bytes, error %v", n, r.Get("error"))
	}
	rgba := r.Get("enhanced")
	if src := call(map[string]any{"op": "source", "id": 1}); src.Get("rgba").Length() != 20*10*4 || src.Get("width").Int() != 20 {
		t.Fatalf("source: %v", src.Get("error"))
	}
	if r := call(map[string]any{"op": "saveStart", "id": 1, "width": 40, "height": 20, "opaque": true}); !r.Get("error").IsUndefined() {
		t.Fatalf("saveStart: %v", r.Get("error"))
	}
	if r := call(map[string]any{"op": "saveRows", "id": 1, "rgba": rgba}); !r.Get("error").IsUndefined() {
		t.Fatalf("saveRows: %v", r.Get("error"))
	}
	r = call(map[string]any{"op": "saveFinish", "id": 1, "toWidth": 30, "toHeight": 15})
	png := r.Get("file")
	if png.Length() < 24 || png.Index(1).Int() != 'P' || png.Index(19).Int() != 30 || png.Index(23).Int() != 15 || r.Get("transfer").Length() != 1 {
		t.Fatalf("saveFinish: %v", r.Get("error"))
	}
	r = call(map[string]any{"op": "convert", "id": 0, "file": png, "format": "jpeg", "quality": 70})
	if jpg := r.Get("file"); jpg.Length() < 3 || jpg.Index(0).Int() != 0xFF || jpg.Index(1).Int() != 0xD8 {
		t.Fatalf("convert to JPEG: %v", r.Get("error"))
	}
	if r := call(map[string]any{"op": "saveCancel", "id": 1}); !r.Get("error").IsUndefined() {
		t.Fatalf("saveCancel: %v", r.Get("error"))
	}
	if r := call(map[string]any{"op": "zipAdd", "id": 5, "name": "a.png", "file": png}); !r.Get("error").IsUndefined() {
		t.Fatalf("zipAdd: %v", r.Get("error"))
	}
	if z := call(map[string]any{"op": "zipEnd", "id": 5}).Get("file"); z.Length() < 4 || z.Index(0).Int() != 'P' || z.Index(1).Int() != 'K' {
		t.Fatal("zipEnd: no zip")
	}
	if r := call(map[string]any{"op": "open", "id": 2, "file": toJS([]byte("nope"))}); r.Get("error").IsUndefined() {
		t.Error("no error for a non-image")
	}
	if r := call(map[string]any{"op": "launch", "id": 3}); r.Get("error").String() != "unknown message launch" {
		t.Errorf("unknown op: %v", r.Get("error"))
	}
}
