// Command lrkit is the command-line face of lrkit: it plots, prints and
// exports learning-rate schedules, trains workloads, fits loss-curve laws,
// runs the schedule benchmark and serves the learning-rate control plane.
// Each subcommand lives in its own file and holds no logic of its own: it
// parses flags, calls the packages and prints.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
)

// commandFactories is filled by the init functions of the subcommand files
// (one file per command) and only read afterwards, in newRootCmd.
var commandFactories []func() *cobra.Command

// registerCommand adds a subcommand constructor; call it from init only.
func registerCommand(f func() *cobra.Command) { commandFactories = append(commandFactories, f) }

// usageError marks an error caused by bad input (a bad spec, flag or file
// content): lrkit prints it on one line and exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInput wraps err as a usage error (exit status 2).
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "lrkit",
		Short:         "lrkit: learning-rate schedules, controllers, loss-curve laws and a schedule benchmark",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("lrkit {{.Version}}\n")
	cmds := make([]*cobra.Command, 0, len(commandFactories))
	for _, f := range commandFactories {
		cmds = append(cmds, f())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	// An unknown command, like a wrong number of arguments, is bad input
	// (exit status 2); cobra's own checks return plain errors. A root
	// that runs (printing its help) validates its arguments itself.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return errors.New(msg)
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.SuggestionsMinimumDistance = 2
	badInputArgs(root)
	registerCompletions(root)
	return root
}

// badInputArgs makes the argument checks of c and its subcommands return
// usage errors.
func badInputArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error { return badInput(check(cmd, args)) }
	}
	for _, sub := range c.Commands() {
		badInputArgs(sub)
	}
}

// deprecatedAlias adds the flag old as a hidden, deprecated spelling of
// the flag name, sharing its value (lrkit's output flags were once --out).
func deprecatedAlias(cmd *cobra.Command, old, name string) {
	f := cmd.Flags().Lookup(name)
	cmd.Flags().Var(f.Value, old, f.Usage)
	_ = cmd.Flags().MarkDeprecated(old, "use -o/--"+name)
}

// run executes the CLI with args and returns the process exit status.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "lrkit: "+err.Error())
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func main() { os.Exit(run(os.Args[1:])) }
