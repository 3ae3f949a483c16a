package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestHelpRenders scans the help of lrkit and every subcommand for the
// renderings that broke before: a back-quoted word in a flag's usage
// becomes its placeholder (`--queue lrkit worker --queue`), a usage that
// states its default gets pflag's too ("(default: X) (default -1)"), and
// an output flag named other than -o/--output or --plot.
func TestHelpRenders(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Deprecated != "" {
				return
			}
			where := c.CommandPath() + " --" + f.Name
			if name, _ := pflag.UnquoteUsage(f); strings.ContainsAny(name, " `") {
				t.Errorf("%s: placeholder %q (a back-quoted phrase in the usage)", where, name)
			}
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s: back quote in %q", where, f.Usage)
			}
			if f.Name == "out" {
				t.Errorf("%s: files and directories are written with -o/--output", where)
			}
		})
		for _, line := range strings.Split(c.Flags().FlagUsages(), "\n") {
			if strings.Count(line, "(default ")+strings.Count(line, "(default:") > 1 {
				t.Errorf("%s: two defaults in %q", c.CommandPath(), strings.TrimSpace(line))
			}
		}
		help := c.UsageString() + c.Long
		if strings.Contains(help, "%!") {
			t.Errorf("%s: a formatting error in the help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestVersion(t *testing.T) {
	r := runLrkit("--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "lrkit ") || !strings.Contains(r.stdout, "go1.") || !strings.Contains(r.stdout, " kernels") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "train", "--workload", ""}, "mnist-mlp"},
		{[]string{"__complete", "values", "ws"}, "wsd("},
		{[]string{"__complete", "train", "--schedule", "plat"}, "plateau("},
		{[]string{"__complete", "export", "x", "--format", ""}, "json"},
		{[]string{"__complete", "train", "--optimizer", ""}, "adamw"},
	}
	for _, tt := range tests {
		r := runLrkit(tt.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("%v: exit %d, %q lacks %q", tt.args, r.code, r.stdout, tt.want)
		}
	}
}
