package weights

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestList(t *testing.T) {
	fsys := fstest.MapFS{
		"general-x2.gob":         {Data: []byte("a")},
		"general-x2-denoise.gob": {Data: []byte("a")},
		"general-x2-jpeg.gob":    {Data: []byte("a")}, // no such kind
		"portrait-x4.gob":        {Data: []byte("b")},
		"general-x5.gob":         {Data: []byte("c")}, // no such scale
		"anime-x2.gob":           {Data: []byte("d")}, // no such model
		"general-x2.csv":         {Data: []byte("e")},
		"README.md":              {Data: []byte("f")},
	}
	es, err := List(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"general", 2, true, "general-x2-denoise.gob"}, {"general", 2, false, "general-x2.gob"}, {"portrait", 4, false, "portrait-x4.gob"}}
	if len(es) != len(want) {
		t.Fatalf("listed %v, want %v", es, want)
	}
	for i := range want {
		if es[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, es[i], want[i])
		}
	}
}

// TestShipped: every shipped model reads, and one that does not ship says
// what does.
func TestShipped(t *testing.T) {
	es, err := List(FS)
	if err != nil || len(es) == 0 {
		t.Fatalf("no shipped weights (%v)", err)
	}
	for _, e := range es {
		read := Read
		if e.Denoise {
			read = ReadDenoise
		}
		if data, err := read(e.Model, e.Scale); err != nil || len(data) == 0 {
			t.Errorf("%s: %v", e.File, err)
		}
	}
	if _, err := ReadDenoise("general", 7); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading unshipped denoise weights: %v, want fs.ErrNotExist", err)
	}
	if _, err := Read("general", 7); err == nil || !strings.Contains(err.Error(), "shipped: [general x2") {
		t.Errorf("reading an unshipped model: %v", err)
	}
}
