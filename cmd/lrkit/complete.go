package main

import (
	"strings"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/workload"
	"github.com/spf13/cobra"
)

// Shell completion of values: workload names, schedule and controller
// kinds, laws, optimizers and the words of --format and similar flags.

// completeWords completes a flag or argument from a fixed list.
func completeWords(words ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeWorkloads completes workload names.
func completeWorkloads(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []string
	for _, w := range workload.All() {
		names = append(names, w.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeSpecs completes the start of a spec: a kind name and its "(".
func completeSpecs(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []string
	for _, k := range schedule.Kinds() {
		if strings.HasPrefix(k.Name, prefix) {
			out = append(out, cobra.CompletionWithDesc(k.Name+"(", k.Summary))
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeJSONFiles completes file names ending in .json.
func completeJSONFiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeLaws completes loss-curve law names.
func completeLaws(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return losscurve.Kinds(), cobra.ShellCompDirectiveNoFileComp
}

// registerCompletions adds value completion to every flag that takes one
// of the known words, in every command that has it.
func registerCompletions(root *cobra.Command) {
	byFlag := map[string]cobra.CompletionFunc{
		"workload":  completeWorkloads,
		"schedule":  completeSpecs,
		"law":       completeLaws,
		"optimizer": completeWords(workload.Optimizers...),
		"parity":    completeWords("pytorch", "hf", "optax", "none"),
		"rule":      completeWords("l1", "l2"),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range byFlag {
			if name == "law" && c.Name() != "fit" {
				fn = completeJSONFiles // predict and plan read a law.json
			}
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		if f := c.Flags().Lookup("format"); f != nil {
			_ = c.RegisterFlagCompletionFunc("format", completeWords(formatWords(f.Usage)...))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, name := range []string{"plot", "values", "export"} {
		if c, _, err := root.Find([]string{name}); err == nil && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = completeSpecs
		}
	}
}

// formatWords reads the words of a --format flag from its usage text,
// which lists them as "text or json" or "text, csv or json".
func formatWords(usage string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(usage, func(r rune) bool { return r == ',' || r == ' ' }) {
		if w != "or" && w != "" {
			out = append(out, w)
		}
	}
	return out
}
