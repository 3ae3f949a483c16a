package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/scaling"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newScalingCmd) }

// scalingOptions are the flags of `lrkit scaling`.
type scalingOptions struct {
	points, epfl, dataset, form, reference, svg string
	cooldown                                    []string
	boot, holdout                               int
	seed                                        uint64
	extrapolate                                 float64
}

func newScalingCmd() *cobra.Command {
	o := scalingOptions{}
	cmd := &cobra.Command{
		Use:   "scaling (--points FILE | --epfl DIR) [flags]",
		Short: "Fit scaling laws to final losses over model sizes and compare procedures",
		Long: `Fit a scaling law to the final losses of runs of several model sizes, one law
per group of runs (a training procedure), with cluster-bootstrap intervals,
predictions for held-out largest sizes, and each group's compute-optimal
loss compared with a reference group's over a range of compute.

Forms: chinchilla, L = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022);
compute, L = E + A*C^-alpha on the compute frontier (the LAION-style
saturating power law); power, L = A*C^-alpha.

Points come from a CSV with the columns group,n,d,loss (parameters,
training tokens, final loss) or from the EPFL loss-curve collection
(--epfl DIR): groups cosine, wsd (a constant-rate run plus a 20% cooldown)
and constant (the constant run without cooldown).`,
		Example: `  lrkit scaling --epfl ../shared/data/losscurves/epfml --reference cosine --cooldown wsd=0.2 --svg figs
  lrkit scaling --points runs.csv --form compute --boot 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pts, opts, err := o.load()
			if err != nil {
				return badInput(err)
			}
			opts.Progress = func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), msg) }
			rep, err := scaling.Study(cmd.Context(), pts, opts)
			if err != nil {
				return badInput(err)
			}
			rep.Markdown(cmd.OutOrStdout())
			if o.svg == "" {
				return nil
			}
			return writeScalingFigures(o.svg, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.points, "points", "", "CSV of points with columns group,n,d,loss")
	f.StringVar(&o.epfl, "epfl", "", "directory of the EPFL loss-curve collection (index.csv, val/)")
	f.StringVar(&o.dataset, "dataset", "slimpajama", "with --epfl: slimpajama or openwebtext2")
	f.StringVar(&o.form, "form", "chinchilla", "chinchilla, compute or power")
	f.StringVar(&o.reference, "reference", "", "group the others are compared with (default: the first by name)")
	f.StringSliceVar(&o.cooldown, "cooldown", nil, "GROUP=FRACTION: the group's points come from one constant run per size plus cooldowns of this fraction, 0 for none (for its compute cost)")
	f.IntVar(&o.boot, "boot", 200, "bootstrap refits")
	f.IntVar(&o.holdout, "holdout", 1, "largest sizes held out for prediction (-1: none)")
	f.Uint64Var(&o.seed, "seed", 1, "bootstrap seed")
	f.Float64Var(&o.extrapolate, "extrapolate", 100, "the comparison reaches this factor past the largest observed compute")
	f.StringVar(&o.svg, "svg", "", "directory for the figures (scaling-laws.svg, scaling-diff.svg)")
	return cmd
}

// load reads the points and turns the flags into study options.
func (o scalingOptions) load() ([]scaling.Point, scaling.StudyOptions, error) {
	so := scaling.StudyOptions{Boot: o.boot, Seed: o.seed, HoldOut: o.holdout, Reference: o.reference,
		Extrapolate: o.extrapolate, Cooldown: map[string]float64{}}
	var err error
	if so.Form, err = scaling.ParseForm(o.form); err != nil {
		return nil, so, err
	}
	if o.boot < 1 || o.extrapolate < 1 {
		return nil, so, fmt.Errorf("--boot %d and --extrapolate %g, want at least 1 each", o.boot, o.extrapolate)
	}
	switch {
	case o.holdout < -1:
		return nil, so, fmt.Errorf("--holdout %d: want a number of sizes, or -1 for none", o.holdout)
	case o.holdout == 0:
		so.HoldOut = -1 // none; the package reads 0 as its default, 1
	}
	for _, c := range o.cooldown {
		g, v, ok := strings.Cut(c, "=")
		fr, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !(fr >= 0 && fr < 1) {
			return nil, so, fmt.Errorf("--cooldown %q: want GROUP=FRACTION with a fraction in [0, 1)", c)
		}
		so.Cooldown[g] = fr
	}
	var pts []scaling.Point
	switch {
	case (o.points == "") == (o.epfl == ""):
		return nil, so, fmt.Errorf("give exactly one of --points and --epfl")
	case o.points != "":
		pts, err = scaling.ReadPointsFile(o.points)
	default:
		pts, err = scaling.ReadEPFL(o.epfl, scaling.EPFLOptions{Dataset: o.dataset})
	}
	return pts, so, err
}

// writeScalingFigures draws each group's observed losses and fitted
// compute-optimal curve against compute, and each comparison's difference
// with its interval band.
func writeScalingFigures(dir string, rep *scaling.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var laws, diffs []plot.Series
	for i, c := range rep.Comparisons {
		if i == 0 {
			laws = append(laws, scalingCurve(c.Reference, c.Compute, c.RefLoss, c.RefCI))
		}
		laws = append(laws, scalingCurve(c.Group, c.Compute, c.Loss, c.LossCI))
		d := plot.Series{Name: c.Group + " − " + c.Reference, X: log10s(c.Compute), Y: c.Diff}
		for _, ci := range c.DiffCI {
			d.Lower, d.Upper = append(d.Lower, ci[0]), append(d.Upper, ci[1])
		}
		diffs = append(diffs, d)
	}
	for _, fit := range rep.Fits {
		obs := plot.Series{Name: fit.Group + " runs", Style: plot.Dots}
		for _, p := range fit.Points {
			obs.X, obs.Y = append(obs.X, log10(p.Compute())), append(obs.Y, p.Loss)
		}
		laws = append(laws, obs)
	}
	charts := []struct {
		file  string
		chart plot.Chart
		s     []plot.Series
	}{
		{"scaling-laws.svg", plot.Chart{Title: "Compute-optimal loss of each procedure's law (95% bands) and the runs", XLabel: "log10 compute (FLOPs)", YLabel: "loss"}, laws},
		{"scaling-diff.svg", plot.Chart{Title: "Difference of the laws' compute-optimal losses (95% band)", XLabel: "log10 compute (FLOPs)", YLabel: "loss difference"}, diffs},
	}
	for _, c := range charts {
		if len(c.s) == 0 {
			continue
		}
		if err := writeScalingSVG(filepath.Join(dir, c.file), c.chart, c.s); err != nil {
			return err
		}
	}
	return nil
}

func scalingCurve(name string, x, y []float64, ci [][2]float64) plot.Series {
	s := plot.Series{Name: name + " law", X: log10s(x), Y: y}
	for _, c := range ci {
		s.Lower, s.Upper = append(s.Lower, c[0]), append(s.Upper, c[1])
	}
	return s
}

func writeScalingSVG(path string, c plot.Chart, s []plot.Series) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.Lines(f, "svg", s...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func log10(x float64) float64 { return math.Log10(x) }

func log10s(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Log10(x)
	}
	return out
}
