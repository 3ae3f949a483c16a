package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	_ "github.com/lrkit/lrkit/control" // registers the controller kinds
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newSchedulesCmd) }

// kindInfo is one schedule kind as `lrkit schedules` prints it.
type kindInfo struct {
	Name       string      `json:"name"`
	Controller bool        `json:"controller,omitempty"` // learns from the run (package control)
	Summary    string      `json:"summary"`
	Source     string      `json:"source"`
	Unverified string      `json:"unverified,omitempty"`
	Params     []paramInfo `json:"params"`
}

// paramInfo is one parameter of a kind (schedule.ParamInfo, with a null
// default in JSON for a required parameter).
type paramInfo struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Default    *string  `json:"default"` // nil: required
	Choices    []string `json:"choices,omitempty"`
	Positional bool     `json:"positional,omitempty"`
	Doc        string   `json:"doc"`
}

func newSchedulesCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "schedules [--format text|json]",
		Short: "List every schedule and controller kind with its parameters, defaults and source",
		Long: `List every schedule kind of the spec language, then every controller kind
(schedules that learn from the run: plateau, hypergradient descent,
AutoLRS, ...): what it does, the paper or library it follows, each
parameter with its type, default (or "required"), allowed words and
meaning, and a note on what could not be verified against the source
where there is one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kinds := kindInfos()
			switch format {
			case "text":
				return writeKindsText(cmd.OutOrStdout(), kinds)
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(kinds)
			}
			return badInput(fmt.Errorf("--format must be text or json, got %q", format))
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func kindInfos() []kindInfo {
	var out []kindInfo
	for _, k := range schedule.Kinds() {
		ki := kindInfo{Name: k.Name, Controller: k.Stateful, Summary: k.Summary, Source: k.Source, Unverified: k.Unverified, Params: []paramInfo{}}
		for _, p := range schedule.Params(k) {
			pi := paramInfo{Name: p.Name, Type: p.Type, Choices: p.Choices, Positional: p.Positional, Doc: p.Doc}
			if !p.Required {
				d := p.Default
				pi.Default = &d
			}
			ki.Params = append(ki.Params, pi)
		}
		out = append(out, ki)
	}
	return out
}

// writeKindsText prints each kind as a block: name and summary, source,
// the unverified note, then one line per parameter in aligned columns
// (name, type, default or "required", choices and meaning).
func writeKindsText(w io.Writer, kinds []kindInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, k := range kinds {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if k.Controller {
			fmt.Fprintf(tw, "%s (controller): %s\n", k.Name, k.Summary)
		} else {
			fmt.Fprintf(tw, "%s: %s\n", k.Name, k.Summary)
		}
		fmt.Fprintf(tw, "  source: %s\n", k.Source)
		if k.Unverified != "" {
			fmt.Fprintf(tw, "  unverified: %s\n", k.Unverified)
		}
		for _, p := range k.Params {
			def := "required"
			if p.Default != nil {
				def = "default " + *p.Default
				if *p.Default == "" {
					def = `default ""`
				}
			}
			if p.Positional {
				def = "positional"
			}
			doc := p.Doc
			if len(p.Choices) > 0 {
				doc = strings.Join(p.Choices, "|") + ": " + doc
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", p.Name, p.Type, def, doc)
		}
	}
	return tw.Flush()
}
