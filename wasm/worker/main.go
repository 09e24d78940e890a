//go:build js

// Command worker is the page's compute worker: a Web Worker runs it, posts
// it messages, and posts its answers back (site/worker.js). It imports core
// only: ebiten panics at init outside a page.
package main

import (
	"image"
	"syscall/js"
)

func main() {
	s := NewSession()
	js.Global().Set("upscalerWorker", js.FuncOf(func(this js.Value, args []js.Value) any {
		return handle(s, args[0])
	}))
	js.Global().Call("postMessage", map[string]any{"op": "booted"})
	select {}
}

// handle answers one message. Every answer is {op, id, ...} or {op, id,
// error}; byte arrays travel as Uint8Array and are listed in transfer.
func handle(s *Session, msg js.Value) (reply any) {
	op, id := msg.Get("op").String(), msg.Get("id").Int()
	answer := map[string]any{"op": op, "id": id}
	fail := func(err error) any {
		answer["error"] = err.Error()
		return answer
	}
	defer func() {
		if r := recover(); r != nil {
			answer["error"] = "internal error in the worker"
			reply = answer
		}
	}()
	switch op {
	case "model":
		if err := s.LoadModel(msg.Get("name").String(), bytesOf(msg.Get("weights"))); err != nil {
			return fail(err)
		}
	case "open":
		size, err := s.Open(id, bytesOf(msg.Get("file")))
		if err != nil {
			return fail(err)
		}
		answer["width"], answer["height"] = size.X, size.Y
	case "start":
		info, err := s.Start(id, msg.Get("model").String())
		if err != nil {
			return fail(err)
		}
		tiles := make([]any, len(info.Tiles))
		for i, r := range info.Tiles {
			tiles[i] = []any{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}
		}
		answer["width"], answer["height"], answer["tiles"] = info.Width, info.Height, tiles
	case "tile":
		t := msg.Get("tile")
		r := image.Rect(t.Index(0).Int(), t.Index(1).Int(), t.Index(2).Int(), t.Index(3).Int())
		enh, bic, err := s.Tile(id, r)
		if err != nil {
			return fail(err)
		}
		e, b := toJS(enh), toJS(bic)
		answer["tile"], answer["enhanced"], answer["bicubic"] = t, e, b
		answer["transfer"] = []any{e.Get("buffer"), b.Get("buffer")}
	case "encode":
		png, err := EncodePNG(msg.Get("width").Int(), msg.Get("height").Int(), bytesOf(msg.Get("rgba")))
		if err != nil {
			return fail(err)
		}
		p := toJS(png)
		answer["png"], answer["transfer"] = p, []any{p.Get("buffer")}
	case "close":
		s.Close(id)
	default:
		answer["error"] = "unknown message " + op
	}
	return answer
}

// bytesOf copies a Uint8Array or ArrayBuffer into Go.
func bytesOf(v js.Value) []byte {
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func toJS(b []byte) js.Value {
	v := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(v, b)
	return v
}
