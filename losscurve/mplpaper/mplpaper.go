// Package mplpaper reads the loss curves released with the multi-power law
// paper (Luo et al., ICLR 2025; github.com/thu-yao-01-luo/MultiPowerLaw,
// MIT licence, folder loss_curve_repo/csv_{25,100,400}) and rebuilds their
// per-step learning rates the way the paper's released loader does
// (src/data_loader.py and src/lr_schedules.py, read through the code
// search; our own implementation). The curves are not part of lrkit: the
// caller gives the folder they were downloaded to.
//
// Every run warms up linearly from 0 to 3e-4 over 2160 steps (numpy
// linspace, both ends included) and then follows:
//
//	constant_T         3e-4
//	cosine_T           3e-5 + (3e-4−3e-5)/2·(1 + cos(π(t−2160)/(T−2160)))
//	wsd_20000_24000    3e-4 until 20000, then 3e-4^((24000−t)/4000)·3e-5^((t−20000)/4000)
//	wsdld_20000_24000  3e-4 until 20000, then linear to 3e-5 at 24000
//	wsdcon_k           3e-4 until 8000, then k·1e-5, 16000 steps in all
//
// A loss logged at step s is the law's prediction at index s (S1 sums the
// rates of steps 0..s), as in the released code; files whose last step is
// 24000 lose that point (the loader keeps steps < 24000).
package mplpaper

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/losscurve"
)

// Sizes are the model sizes (millions of parameters) with released curves,
// each in the folder csv_<size>.
var Sizes = []string{"25", "100", "400"}

// TrainSet and TestSet are the paper's split (the released config.py).
var (
	TrainSet = []string{"cosine_24000", "constant_24000", "wsdcon_9"}
	TestSet  = []string{"constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18"}
)

const (
	warmup = 2160
	peak   = 3e-4
	final  = 3e-5
)

// linspace returns n evenly spaced values from a to b, both included.
func linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if n == 1 {
			out[i] = a
			continue
		}
		out[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return out
}

// LRs returns the per-step learning rates of the named run (a file name
// without ".csv").
func LRs(name string) ([]float64, error) {
	total := func(prefix string) (int, error) {
		t, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
		if err != nil || t <= warmup || t > 10_000_000 {
			return 0, fmt.Errorf("mplpaper: run %q: want %s<T> with T > %d", name, prefix, warmup)
		}
		return t, nil
	}
	lrs := linspace(0, peak, warmup)
	switch {
	case strings.HasPrefix(name, "cosine_"):
		T, err := total("cosine_")
		if err != nil {
			return nil, err
		}
		for t := warmup; t < T; t++ {
			lrs = append(lrs, final+0.5*(peak-final)*(1+math.Cos(math.Pi*float64(t-warmup)/float64(T-warmup))))
		}
	case strings.HasPrefix(name, "constant_"):
		T, err := total("constant_")
		if err != nil {
			return nil, err
		}
		for t := warmup; t < T; t++ {
			lrs = append(lrs, peak)
		}
	case strings.HasPrefix(name, "wsdcon_"):
		k, err := strconv.Atoi(strings.TrimPrefix(name, "wsdcon_"))
		if err != nil || k <= 0 || k > 1000 {
			return nil, fmt.Errorf("mplpaper: run %q: want wsdcon_<k> with 0 < k <= 1000", name)
		}
		for t := warmup; t < 16000; t++ {
			if t < 8000 {
				lrs = append(lrs, peak)
			} else {
				lrs = append(lrs, float64(k)*1e-5)
			}
		}
	case name == "wsd_20000_24000" || name == "wsdld_20000_24000":
		for t := warmup; t < 24000; t++ {
			switch {
			case t < 20000:
				lrs = append(lrs, peak)
			case name == "wsd_20000_24000":
				lrs = append(lrs, math.Pow(peak, float64(24000-t)/4000)*math.Pow(final, float64(t-20000)/4000))
			default:
				lrs = append(lrs, peak*(1-float64(t-20000)/4000)+final*float64(t-20000)/4000)
			}
		}
	default:
		return nil, fmt.Errorf("mplpaper: unknown run %q (want constant_T, cosine_T, wsd_20000_24000, wsdld_20000_24000 or wsdcon_k)", name)
	}
	return lrs, nil
}

// ReadLosses reads a curve file: a header naming "step" and "loss" columns
// (others, such as "lr", are ignored), then one row per logged step.
// Errors name the file and line.
func ReadLosses(r io.Reader, name string) (steps []int, losses []float64, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("mplpaper: %s: empty file, want a step,loss header", name)
		}
		return nil, nil, fmt.Errorf("mplpaper: %s: %w", name, err)
	}
	si, li := -1, -1
	for i, h := range head {
		switch strings.TrimSpace(h) {
		case "step":
			si = i
		case "loss":
			li = i
		}
	}
	if si < 0 || li < 0 {
		return nil, nil, fmt.Errorf("mplpaper: %s:1: header %q lacks a step or loss column", name, strings.Join(head, ","))
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("mplpaper: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			return nil, nil, fmt.Errorf("mplpaper: %s:%d: %d fields, the header has %d", name, line, len(rec), len(head))
		}
		s, err := strconv.Atoi(strings.TrimSpace(rec[si]))
		if err != nil || s < 0 {
			return nil, nil, fmt.Errorf("mplpaper: %s:%d: step %q is not a non-negative integer", name, line, rec[si])
		}
		l, err := strconv.ParseFloat(strings.TrimSpace(rec[li]), 64)
		if err != nil || !(l > 0) || math.IsInf(l, 0) {
			return nil, nil, fmt.Errorf("mplpaper: %s:%d: loss %q is not a positive finite number", name, line, rec[li])
		}
		if n := len(steps); n > 0 && s <= steps[n-1] {
			return nil, nil, fmt.Errorf("mplpaper: %s:%d: step %d does not increase (previous %d)", name, line, s, steps[n-1])
		}
		steps = append(steps, s)
		losses = append(losses, l)
	}
	if len(steps) == 0 {
		return nil, nil, fmt.Errorf("mplpaper: %s: no rows", name)
	}
	return steps, losses, nil
}

// Run reads dir/<name>.csv and returns it with its learning rates.
func Run(dir, name string) (losscurve.Run, error) {
	lrs, err := LRs(name)
	if err != nil {
		return losscurve.Run{}, err
	}
	path := filepath.Join(dir, name+".csv")
	f, err := os.Open(path)
	if err != nil {
		return losscurve.Run{}, fmt.Errorf("mplpaper: %w", err)
	}
	defer f.Close()
	steps, losses, err := ReadLosses(f, path)
	if err != nil {
		return losscurve.Run{}, err
	}
	if steps[len(steps)-1] == 24000 {
		steps, losses = steps[:len(steps)-1], losses[:len(losses)-1]
	}
	run := losscurve.Run{Name: name, LRs: lrs}
	for i, s := range steps {
		if s >= len(lrs) {
			return losscurve.Run{}, fmt.Errorf("mplpaper: %s: step %d is past the run's %d steps", path, s, len(lrs))
		}
		run.Points = append(run.Points, losscurve.Point{Step: s, Loss: losses[i]})
	}
	return run, run.Validate()
}
