package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lrkit/lrkit/bench"
	"github.com/lrkit/lrkit/store"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newReportCmd) }

func newReportCmd() *cobra.Command {
	var db, out string
	cmd := &cobra.Command{
		Use:   "report STUDY --db PATH",
		Short: "Rebuild a benchmark study's report from its results database",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := bench.CheckName(name); err != nil {
				return badInput(err)
			}
			if db == "" {
				db = filepath.Join("out", "bench", name, "lrkit.db")
			}
			if out == "" {
				out = filepath.Join("out", "bench", name)
			}
			// store.Open would create a missing SQLite file: a mistyped
			// --db would leave an empty database behind.
			if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
				if _, err := os.Stat(db); err != nil {
					return badInput(fmt.Errorf("--db: %w (lrkit bench writes it; give --db for another place)", err))
				}
			}
			s, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer s.Close()
			study, oc, err := bench.Load(cmd.Context(), s, name)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return badInput(err)
				}
				return err
			}
			return writeReport(study, oc, out, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "results database (default out/bench/STUDY/lrkit.db)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "report directory (default out/bench/STUDY)")
	deprecatedAlias(cmd, "out", "output")
	return cmd
}
