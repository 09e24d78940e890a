package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportsRunOneWay: each package imports only what its job needs (the
// README's Layout section), and the page's compute worker none of the
// training code. It reads the dependency lists go list gives.
func TestImportsRunOneWay(t *testing.T) {
	const mod = "github.com/srcnn-web/upscaler/"
	training := []string{mod + "core/training", mod + "core/degrade", mod + "core/metrics", mod + "core/adversarial",
		"github.com/nlpodyssey/spago/optimizers/adam", "github.com/schollz/progressbar/v3", "gonum.org/v1/plot"}
	for _, tc := range []struct {
		pkg     string
		wasm    bool // list the dependencies for js/wasm
		without []string
	}{
		{"./wasm/worker", true, append([]string{"github.com/hajimehoshi/ebiten/v2"}, training...)},
		{"./core", true, training},
		{"./core/kernels", false, []string{mod + "core", mod + "core/imaging", mod + "core/network", "github.com/nlpodyssey/spago/ag"}},
		{"./core/imaging", false, []string{mod + "core", mod + "core/kernels", mod + "core/network"}},
		{"./core/metrics", false, []string{mod + "core", mod + "core/network", mod + "core/training"}},
		{"./core/network", false, []string{mod + "core", mod + "core/training", mod + "core/degrade", "syscall/js"}},
		{"./core/degrade", false, []string{mod + "core", mod + "core/network", mod + "core/training"}},
		{"./core/adversarial", false, []string{mod + "core", mod + "core/training", "syscall/js"}},
		{"./core/training", false, []string{"syscall/js", "github.com/hajimehoshi/ebiten/v2"}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", tc.pkg)
			if tc.wasm {
				cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 2 {
				t.Fatalf("go list names %d packages", len(deps))
			}
			for _, bad := range tc.without {
				if slices.Contains(deps, bad) {
					t.Errorf("%s depends on %s", tc.pkg, bad)
				}
			}
		})
	}
}
