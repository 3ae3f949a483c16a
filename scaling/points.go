package scaling

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/internal/safefile"
	"github.com/lrkit/lrkit/runlog"
)

// maxPointsFile bounds a points file or an index read by this package.
const maxPointsFile = 64 << 20

// ReadPoints reads a CSV of points with the header group,n,d,loss (in any
// order; other columns are ignored): the procedure, parameters, training
// tokens and final loss of each run. name is used in errors
// ("points.csv:7: loss "x" is not a number").
func ReadPoints(r io.Reader, name string) ([]Point, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"group", "n", "d", "loss"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:1: no %q column (want group,n,d,loss)", name, need)
		}
	}
	var ps []Point
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		p, err := parsePoint(rec, col)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no points", name)
	}
	return ps, nil
}

func parsePoint(rec []string, col map[string]int) (Point, error) {
	get := func(k string) (string, error) {
		i := col[k]
		if i >= len(rec) {
			return "", fmt.Errorf("%d fields, no %s", len(rec), k)
		}
		return strings.TrimSpace(rec[i]), nil
	}
	g, err := get("group")
	if err != nil {
		return Point{}, err
	}
	p := Point{Group: g}
	for _, f := range []struct {
		k string
		v *float64
	}{{"n", &p.N}, {"d", &p.D}, {"loss", &p.Loss}} {
		s, err := get(f.k)
		if err != nil {
			return Point{}, err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return Point{}, fmt.Errorf("%s %q is not a positive finite number", f.k, s)
		}
		*f.v = v
	}
	return p, nil
}

// ReadPointsFile reads a points CSV from a regular file.
func ReadPointsFile(path string) ([]Point, error) {
	f, err := safefile.Open(path, maxPointsFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadPoints(f, path)
}

// WritePoints writes points as the CSV ReadPoints reads.
func WritePoints(w io.Writer, ps []Point) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "n", "d", "loss"})
	for _, p := range ps {
		_ = cw.Write([]string{p.Group, strconv.FormatFloat(p.N, 'g', -1, 64), strconv.FormatFloat(p.D, 'g', -1, 64), strconv.FormatFloat(p.Loss, 'g', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// EPFLOptions select the runs of the EPFL loss-curve collection
// (shared/data/losscurves/epfml: index.csv and val/<id>.csv).
type EPFLOptions struct {
	Group   string // index group; "": hagele2024-scaling
	Dataset string // "": slimpajama
}

// ReadEPFL returns the final losses of the collection's model-size sweep
// as points in three groups:
//
//	cosine    each cosine run's final full-validation-set loss (cos10:
//	          decay to 10% of the peak), one run per duration
//	wsd       each WSD run's final loss: the constant-rate run continued
//	          with a linear cooldown over the last 20% of the steps
//	constant  the constant-rate run's validation loss (32 fixed batches,
//	          a different estimator from the full set) at the largest
//	          logged step not past each cosine run's length, no cooldown
//
// D is steps × tokens per step, N the parameter count with embeddings.
func ReadEPFL(dir string, o EPFLOptions) ([]Point, error) {
	if o.Group == "" {
		o.Group = "hagele2024-scaling"
	}
	if o.Dataset == "" {
		o.Dataset = "slimpajama"
	}
	rows, err := readIndex(filepath.Join(dir, "index.csv"))
	if err != nil {
		return nil, err
	}
	lengths := map[float64][]float64{} // N -> cosine run lengths (steps)
	var ps []Point
	var consts []map[string]string
	for _, r := range rows {
		if r["group"] != o.Group || r["dataset"] != o.Dataset {
			continue
		}
		n, tps, steps, err := numbers(r)
		if err != nil {
			return nil, err
		}
		switch r["family"] {
		case "cosine", "wsd":
			loss, err := strconv.ParseFloat(r["final_val_loss_fullset"], 64)
			if err != nil {
				return nil, fmt.Errorf("index.csv: %s: final_val_loss_fullset %q: %w", r["id"], r["final_val_loss_fullset"], err)
			}
			ps = append(ps, Point{Group: r["family"], N: n, D: steps * tps, Loss: loss})
			if r["family"] == "cosine" {
				lengths[n] = append(lengths[n], steps)
			}
		case "constant":
			consts = append(consts, r)
		}
	}
	for _, r := range consts {
		n, tps, _, _ := numbers(r)
		cps, err := constantPoints(filepath.Join(dir, "val", r["id"]+".csv"), n, tps, lengths[n])
		if err != nil {
			return nil, err
		}
		ps = append(ps, cps...)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no runs of group %q and dataset %q", dir, o.Group, o.Dataset)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Group != ps[j].Group {
			return ps[i].Group < ps[j].Group
		}
		if ps[i].N != ps[j].N {
			return ps[i].N < ps[j].N
		}
		return ps[i].D < ps[j].D
	})
	return ps, nil
}

func numbers(r map[string]string) (n, tps, steps float64, err error) {
	for _, f := range []struct {
		k string
		v *float64
	}{{"params", &n}, {"tokens_per_step", &tps}, {"total_steps", &steps}} {
		if *f.v, err = strconv.ParseFloat(r[f.k], 64); err != nil || !(*f.v > 0) {
			return 0, 0, 0, fmt.Errorf("index.csv: %s: %s %q is not a positive number", r["id"], f.k, r[f.k])
		}
	}
	return n, tps, steps, nil
}

// readIndex reads index.csv into one map per row.
func readIndex(path string) ([]map[string]string, error) {
	f, err := safefile.Open(path, maxPointsFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var rows []map[string]string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		m := make(map[string]string, len(head))
		for i, h := range head {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
}

// constantPoints reads a constant run's validation curve and returns its
// loss at the largest logged step ≤ each length.
func constantPoints(path string, n, tps float64, lengths []float64) ([]Point, error) {
	recs, err := runlog.ReadFile(path, runlog.ReadOptions{})
	if err != nil {
		return nil, err
	}
	var ps []Point
	for _, l := range lengths {
		var at *runlog.Record
		for i := range recs {
			if float64(recs[i].Step) <= l && recs[i].Has(runlog.FieldLoss) {
				at = &recs[i]
			}
		}
		if at == nil {
			return nil, fmt.Errorf("%s: no loss at or before step %g", path, l)
		}
		ps = append(ps, Point{Group: "constant", N: n, D: float64(at.Step) * tps, Loss: at.Loss})
	}
	return ps, nil
}

// Groups returns the points of each group, by group name.
func Groups(ps []Point) map[string][]Point {
	out := map[string][]Point{}
	for _, p := range ps {
		out[p.Group] = append(out[p.Group], p)
	}
	return out
}
