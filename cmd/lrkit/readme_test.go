package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// quickTour returns the commands of the README's quick tour: the lines of
// the first sh block after the "## Quick tour" heading, without their
// trailing comments.
func quickTour(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n## Quick tour")
	if !ok {
		t.Fatal(`README.md has no "## Quick tour" section`)
	}
	_, block, ok := strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatal("the quick tour has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		if i := strings.Index(line, "  #"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// TestReadmeQuickTour runs every command of the README's quick tour, as
// written, in order, from a directory laid out like a checkout after
// `make` (bin/lrkit and the examples), and checks each succeeds.
func TestReadmeQuickTour(t *testing.T) {
	bin := buildLrkit(t)
	cmds := quickTour(t)
	if len(cmds) < 8 {
		t.Fatalf("the quick tour has only %d commands", len(cmds))
	}
	dir := t.TempDir()
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"bin/lrkit": bin, "examples": examples} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if !strings.HasPrefix(c, "bin/lrkit ") {
			t.Errorf("%q: a quick-tour command starts with bin/lrkit", c)
			continue
		}
		start := time.Now()
		cmd := exec.Command("bash", "-c", c)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
		t.Logf("%s: ok in %.1f s", c, time.Since(start).Seconds())
	}
}
