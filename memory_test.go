package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Memory of the browser's processes, for the benchmarks: the sum of the
// proportional set sizes (PSS: each shared page counted once, split among
// the processes that map it) of Chromium and every process it started.

// processTree returns root and its descendants, read from /proc.
func processTree(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// pssBytes is a process's proportional set size, 0 if it is gone.
func pssBytes(pid int) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// treePSS is the summed PSS of root's process tree, and its parts by
// Chromium process type (browser, renderer, gpu-process, utility...).
func treePSS(root int) (int64, map[string]int64) {
	var sum int64
	parts := map[string]int64{}
	for _, pid := range processTree(root) {
		pss := pssBytes(pid)
		sum += pss
		kind := "browser"
		if cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
			for _, arg := range strings.FieldsFunc(string(cmd), func(r rune) bool { return r == 0 || r == ' ' }) {
				if t, ok := strings.CutPrefix(arg, "--type="); ok {
					kind = t
				}
			}
		}
		parts[kind] += pss
	}
	return sum, parts
}

// memoryPeak samples the summed PSS of a browser's processes every 100 ms
// until stopped, and keeps the largest.
type memoryPeak struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	peak  int64
	parts map[string]int64 // the peak's parts by process type
}

// watchMemory starts sampling the processes of b's Chromium.
func watchMemory(b *browser) *memoryPeak {
	m := &memoryPeak{stop: make(chan struct{})}
	pid := chromedp.FromContext(b.ctx).Browser.Process().Pid
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if sum, parts := treePSS(pid); sum > m.peak {
				m.peak, m.parts = sum, parts
			}
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// Stop ends the sampling and returns the peak in bytes.
func (m *memoryPeak) Stop() int64 {
	close(m.stop)
	m.wg.Wait()
	return m.peak
}
