package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/spf13/cobra"
)

// logFieldsToPlot are the fields lrkit plot draws from run logs by
// default, in panel order, when the logs hold them.
var logFieldsToPlot = []runlog.Field{runlog.FieldLoss, runlog.FieldValLoss, runlog.FieldValMetric, runlog.FieldLR, runlog.FieldGradNorm}

// plotRunLogs draws run logs: one panel per field, the runs overlaid.
func plotRunLogs(cmd *cobra.Command, paths []string, o plotOptions) error {
	if cmd.Flags().Changed("steps") {
		return badInput(fmt.Errorf("--steps is for schedules; a run log is drawn over the steps it holds"))
	}
	logs := make([][]runlog.Record, len(paths))
	warns := make([][]runlog.Warning, len(paths))
	for i, p := range paths {
		recs, err := runlog.ReadFile(p, runlog.ReadOptions{OnWarning: func(w runlog.Warning) { warns[i] = append(warns[i], w) }})
		if err != nil {
			return badInput(err)
		}
		if len(recs) == 0 {
			return badInput(fmt.Errorf("%s: the log holds no records", p))
		}
		logs[i] = recs
	}
	fields, err := plotFields(o.fields, logs)
	if err != nil {
		return err
	}
	panels, drawn, dropped := logPanels(logs, runNames(paths), fields, o)
	for i, p := range paths {
		if drawn[i] == 0 {
			return badInput(fmt.Errorf("%s: no finite values of %s to draw", p, fieldList(fields)))
		}
	}
	for i, p := range paths {
		printReadWarnings(cmd.ErrOrStderr(), warns[i])
		if dropped[i] > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "lrkit: warning: %s: %d NaN or infinite values not drawn\n", p, dropped[i])
		}
	}
	if o.out != "" {
		return writeImage(o.out, func(w io.Writer, format string) error {
			return plot.Panels(w, format, 2, o.width, o.height, panels...)
		})
	}
	for _, p := range panels {
		fmt.Fprintln(cmd.OutOrStdout(), p.Chart.Title)
		if err := drawTerminal(cmd.OutOrStdout(), o, p.Series); err != nil {
			return err
		}
	}
	return nil
}

// logPanels makes one panel per field with a series per log (named by
// names), leaving out NaN and infinite values; it returns how many series
// of each log it drew and how many of its values it left out.
func logPanels(logs [][]runlog.Record, names []string, fields []runlog.Field, o plotOptions) (panels []plot.Panel, drawn, dropped []int) {
	drawn, dropped = make([]int, len(logs)), make([]int, len(logs))
	panels = make([]plot.Panel, len(fields))
	for k, f := range fields {
		smooth := o.smooth > 0 && (f == runlog.FieldLoss || f == runlog.FieldGradNorm)
		title := f.String()
		if smooth {
			title += fmt.Sprintf(" (smoothed, weight %g)", o.smooth)
		}
		panels[k] = plot.Panel{Chart: plot.Chart{Title: title, XLabel: "step", YLabel: f.String(), LogY: o.logY}}
		for i, recs := range logs {
			steps, vals := runlog.Column(recs, f)
			if len(steps) == 0 {
				continue
			}
			if smooth {
				vals = runlog.Smooth(vals, o.smooth)
			}
			s := plot.Series{Name: names[i]}
			for j, t := range steps {
				if math.IsNaN(vals[j]) || math.IsInf(vals[j], 0) {
					dropped[i]++
					continue
				}
				s.X, s.Y = append(s.X, float64(t)), append(s.Y, vals[j])
			}
			if len(s.X) > 0 {
				panels[k].Series = append(panels[k].Series, s)
				drawn[i]++
			}
		}
	}
	return panels, drawn, dropped
}

// printReadWarnings prints a run-log reader's first warnings ("run.csv:12:
// loss is NaN at step 10") and how many more there are.
func printReadWarnings(w io.Writer, warns []runlog.Warning) {
	const shown = 3
	for k, wa := range warns {
		if k == shown {
			fmt.Fprintf(w, "lrkit: warning: %s: %d more warnings\n", wa.File, len(warns)-shown)
			break
		}
		fmt.Fprintf(w, "lrkit: warning: %s\n", wa)
	}
}

// fieldList names fields as "loss, lr".
func fieldList(fields []runlog.Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.String()
	}
	return strings.Join(names, ", ")
}

// plotFields returns the fields asked for, or the default ones the logs
// hold; a field no log holds is an error naming it.
func plotFields(list string, logs [][]runlog.Record) ([]runlog.Field, error) {
	var held runlog.Field
	for _, recs := range logs {
		for _, r := range recs {
			held |= r.Present
		}
	}
	var out []runlog.Field
	if list == "" {
		for _, f := range logFieldsToPlot {
			if held&f != 0 {
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil, badInput(fmt.Errorf("the logs hold none of loss, val_loss, val_metric, lr, grad_norm; name the fields with --fields"))
		}
		return out, nil
	}
	for _, name := range strings.Split(list, ",") {
		f, ok := runlog.FieldByName(strings.TrimSpace(name))
		if !ok {
			return nil, badInput(fmt.Errorf("--fields: %q is not a run-log field", strings.TrimSpace(name)))
		}
		if held&f == 0 {
			return nil, badInput(fmt.Errorf("--fields: no log holds %s", f))
		}
		out = append(out, f)
	}
	return out, nil
}

// runNames names each run by its file name, or by its path when two runs
// share a file name.
func runNames(paths []string) []string {
	names := make([]string, len(paths))
	seen := map[string]int{}
	for i, p := range paths {
		names[i] = filepath.Base(p)
		seen[names[i]]++
	}
	for i, p := range paths {
		if seen[names[i]] > 1 {
			names[i] = p
		}
	}
	return names
}
