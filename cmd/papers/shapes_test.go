package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// TestShapes: the continual and kjv shapes put their warm-ups before the
// base (the lengths the studies were run with): the rate peaks at the end
// of the warm-up, the re-warm starts from 0.1 at the switch, and every
// cosine reaches its floor at the end of its phase.
func TestShapes(t *testing.T) {
	arms := map[string]schedule.Schedule{}
	for _, a := range contArms() {
		arms[a.name] = a.shape()
	}
	cases := []struct {
		s    schedule.Schedule
		step int64
		want float64
	}{
		{arms["rewarm-cosine"], contWarm, 1},
		{arms["rewarm-cosine"], switchAt, 0.1},
		{arms["rewarm-cosine"], switchAt + contWarm, 1},
		{arms["rewarm-cosine"], contTotal, 0.1},
		{arms["constant-low"], switchAt - 1, 0.1 + 0.9*(1+math.Cos(math.Pi*float64(switchAt-1-contWarm)/float64(switchAt-contWarm)))/2},
		{arms["constant-low"], switchAt + 10, 0.1},
		{arms["scratch-mixture"], contTotal, 0.1},
		{arms["wsd-continue"], switchAt, 1},
		{arms["infinite"], switchAt, 0.3},
		{kjvShape("cosine", 1200), 60, 1},
		{kjvShape("cosine", 1200), 1200, 0.1},
		{kjvShape("wsd", 1200), 959, 1},
	}
	for i, c := range cases {
		if got := c.s.LR(c.step); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("case %d: %s at step %d = %v, want %v", i, c.s, c.step, got, c.want)
		}
	}
}

// TestShapesMatchRuns: when the study's logs are present (after
// scripts/papers-continual.sh), every logged rate equals the shape's.
func TestShapesMatchRuns(t *testing.T) {
	logs, _ := filepath.Glob("../../out/papers/continual/rewarm-cosine/p0.0001-s1.csv")
	if len(logs) == 0 {
		t.Skip("no continual runs in out/papers")
	}
	if _, err := os.Stat(logs[0]); err != nil {
		t.Skip(err)
	}
	recs, err := runlog.ReadFile(logs[0], runlog.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := contArms()[0].shape()
	for _, r := range recs {
		if want := 1e-4 * s.LR(r.Step); math.Abs(r.LR-want) > 1e-12 {
			t.Fatalf("step %d: logged %v, shape gives %v", r.Step, r.LR, want)
		}
	}
}
