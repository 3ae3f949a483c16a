package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/workload"
)

func TestWorkloadsList(t *testing.T) {
	var b bytes.Buffer
	if err := writeWorkloads(&b, workload.All(), true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"NAME", "STEP HINT",
		"mnist-mlp", "accuracy ↑", "kjv-gpt", "loss ↓", "fashion-cnn",
		"logreg-digits", "logreg-breast-cancer", "logreg-wine", "logreg-iris", "logreg-illcond-100",
		"mnist-mlp: 784-256-256-10 ReLU MLP on MNIST",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "mnist-mlp ") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) != 8 || f[3] != "0.97" || f[4] != "2000" || f[5] != "128" || f[6] != "adamw" {
		t.Errorf("mnist-mlp row %q, want metric, target 0.97, hint 2000, batch 128, adamw, peak", line)
	}
}

func TestWorkloadsBadArgument(t *testing.T) {
	if code := run([]string{"workloads", "download"}); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
}
