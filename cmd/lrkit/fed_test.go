package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFedBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\ndatasets: [cifar]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"fed", "run", bad}, 2},                   // a bad study: usage error
		{[]string{"fed", "run"}, 2},                        // no study
		{[]string{"fed", "client"}, 2},                     // --nats is required
		{[]string{"fed", "run", bad + ".missing"}, 2},      // a missing file, as for lrkit bench STUDY
		{[]string{"fed", "run", bad, "--workers", "x"}, 2}, // a bad flag
	} {
		if code := run(c.args); code != c.code {
			t.Errorf("lrkit %v: exit status %d, want %d", c.args, code, c.code)
		}
	}
}
