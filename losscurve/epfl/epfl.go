// Package epfl reads the EPFL loss-curve collection shipped in the shared
// data folder (shared/data/losscurves/epfml: 235 pretraining curves from
// github.com/fabian-sp/lr-scheduling, trained with
// github.com/epfml/schedules-and-scaling) and regenerates every curve's
// per-step learning rate from the closed forms given in that folder's
// README ("The lr column, and a per-step reconstruction"). The val CSVs
// carry the rate only every 200 steps; the closed forms give it at every
// step, to a relative error of 1.4e-16 against the logged train rates.
package epfl

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lrkit/lrkit/losscurve"
)

// Curve is one row of index.csv (the columns lrkit uses).
type Curve struct {
	ID, Group, Family, Sched, Shape string
	Peak, Final                     float64
	T, Warmup, DecayStart           int
}

// Dir finds the collection by walking up from the working directory to a
// folder holding shared/data/losscurves/epfml (the layout of the work
// tree and of CI, where shared/ lies beside the clone).
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "data", "losscurves", "epfml"), filepath.Join(d, "..", "shared", "data", "losscurves", "epfml")} {
			if st, err := os.Stat(filepath.Join(c, "index.csv")); err == nil && !st.IsDir() {
				return filepath.Clean(c), nil
			}
		}
		if filepath.Dir(d) == d {
			return "", errors.New("epfl: shared/data/losscurves/epfml not found above the working directory")
		}
	}
}

// ReadIndex reads dir/index.csv.
func ReadIndex(dir string) ([]Curve, error) {
	f, err := os.Open(filepath.Join(dir, "index.csv"))
	if err != nil {
		return nil, fmt.Errorf("epfl: %w", err)
	}
	defer f.Close()
	rd := csv.NewReader(f)
	head, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("epfl: index.csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, need := range []string{"id", "group", "family", "sched", "decay_shape", "peak_lr", "final_lr", "total_steps", "warmup", "decay_start"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("epfl: index.csv: column %q missing", need)
		}
	}
	var out []Curve
	for line := 2; ; line++ {
		rec, err := rd.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("epfl: index.csv: %w", err)
		}
		num := func(name string) (float64, error) {
			s := rec[col[name]]
			if s == "" {
				return 0, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("epfl: index.csv:%d: %s: %w", line, name, err)
			}
			return v, nil
		}
		c := Curve{ID: rec[col["id"]], Group: rec[col["group"]], Family: rec[col["family"]], Sched: rec[col["sched"]], Shape: rec[col["decay_shape"]]}
		var vals [5]float64
		for i, n := range []string{"peak_lr", "final_lr", "total_steps", "warmup", "decay_start"} {
			if vals[i], err = num(n); err != nil {
				return nil, err
			}
		}
		c.Peak, c.Final, c.T, c.Warmup, c.DecayStart = vals[0], vals[1], int(vals[2]), int(vals[3]), int(vals[4])
		out = append(out, c)
	}
}

// LR returns η(k), the rate of the update at step k, by the README's
// closed forms: PyTorch OneCycleLR (cosine, div_factor 100, pct_start
// 300/T) for the cosine family, and the LambdaLR of wsd_schedule (linear
// warm-up from p/100 over 300 steps, hold, then a linear or 1−√ cooldown
// to 0) for constant, wsd and linear_decay. Two-stage runs are not
// supported.
func (c Curve) LR(k int) (float64, error) {
	p, T := c.Peak, c.T
	switch c.Family {
	case "cosine":
		e1 := float64(300)/float64(T)*float64(T) - 1 // PyTorch's phase end, 299
		init := p / 100
		kk := float64(k)
		if kk <= e1 {
			return p + (init-p)/2*(1+math.Cos(math.Pi*kk/e1)), nil
		}
		f := c.Final
		return f + (p-f)/2*(1+math.Cos(math.Pi*(kk-e1)/(float64(T)-1-e1))), nil
	case "constant", "wsd", "linear_decay":
		nHold := T
		if c.Family != "constant" {
			nHold = c.DecayStart
		}
		nAnneal := T - nHold
		switch {
		case k < 300:
			x := float64(k) / 300
			return p * (x + (1-x)/100), nil
		case k < nHold:
			return p, nil
		case k < T:
			x := float64(k-nHold) / float64(nAnneal)
			if c.Shape == "sqrt" {
				return p * (1 - math.Sqrt(x)), nil
			}
			return p * (1 - x), nil
		default:
			return 0, nil
		}
	}
	return 0, fmt.Errorf("epfl: curve %s: family %q has no closed form here", c.ID, c.Family)
}

// LRs returns η(0..T−1).
func (c Curve) LRs() ([]float64, error) {
	out := make([]float64, c.T)
	for k := range out {
		v, err := c.LR(k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// Val holds a val/<id>.csv file: step, logged lr and validation loss.
type Val struct {
	Steps []int
	LRs   []float64
	Loss  []float64
}

// ReadVal reads dir/val/<id>.csv.
func ReadVal(dir, id string) (Val, error) {
	path := filepath.Join(dir, "val", id+".csv")
	f, err := os.Open(path)
	if err != nil {
		return Val{}, fmt.Errorf("epfl: %w", err)
	}
	defer f.Close()
	rd := csv.NewReader(f)
	if _, err := rd.Read(); err != nil {
		return Val{}, fmt.Errorf("epfl: %s: header: %w", path, err)
	}
	var v Val
	for line := 2; ; line++ {
		rec, err := rd.Read()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return Val{}, fmt.Errorf("epfl: %s: %w", path, err)
		}
		if len(rec) != 3 {
			return Val{}, fmt.Errorf("epfl: %s:%d: %d fields, want step,lr,loss", path, line, len(rec))
		}
		s, err1 := strconv.Atoi(rec[0])
		lr, err2 := strconv.ParseFloat(rec[1], 64)
		l, err3 := strconv.ParseFloat(rec[2], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return Val{}, fmt.Errorf("epfl: %s:%d: %w", path, line, err)
		}
		v.Steps = append(v.Steps, s)
		v.LRs = append(v.LRs, lr)
		v.Loss = append(v.Loss, l)
	}
}

// Run builds the losscurve.Run of a curve's validation losses. A val loss
// at step k is measured before update k, after the updates of steps
// 0..k−1 (README, "Convention"), so it is the law's prediction at index
// k−1; the point at step 0 is dropped.
func Run(dir string, c Curve) (losscurve.Run, error) {
	lrs, err := c.LRs()
	if err != nil {
		return losscurve.Run{}, err
	}
	v, err := ReadVal(dir, c.ID)
	if err != nil {
		return losscurve.Run{}, err
	}
	r := losscurve.Run{Name: c.ID, LRs: lrs}
	for i, s := range v.Steps {
		if s < 1 || s > len(lrs) {
			continue
		}
		r.Points = append(r.Points, losscurve.Point{Step: s - 1, Loss: v.Loss[i]})
	}
	return r, nil
}
