package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/server"
	"github.com/lrkit/lrkit/store"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newServeCmd) }

func newServeCmd() *cobra.Command {
	var addr, db, logFormat, project string
	var refresh time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--db lrkit.db|postgres://...]",
		Short: "Serve the learning-rate control plane: HTTP API, dashboard, /metrics",
		Long: `Serve lrkit's learning-rate control plane: training jobs ask it for their
learning rate and report their metrics over HTTP/JSON (/v1/, described at
/openapi.json), the dashboard at / shows every run, and /healthz and
/metrics (Prometheus) watch the server. Runs persist in --db: an SQLite
file, or a postgres:// URL shared by several replicas.

On its first start on an empty database, serve creates the project
--project and prints an API token for it once; ` + "`lrkit serve token`" + `
makes more. SIGINT or SIGTERM stops it gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), logFormat)
			if err != nil {
				return badInput(err)
			}
			if refresh <= 0 {
				return badInput(fmt.Errorf("--refresh %v: want a positive duration, e.g. 1s", refresh))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd, addr, db, project, refresh, logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&db, "db", "lrkit.db", "SQLite file or postgres:// URL")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&project, "project", "default", "project created, with a token, on first start")
	f.DurationVar(&refresh, "refresh", time.Second, "how long a cached run is served before it is re-read (replicas see each other's changes within it)")
	cmd.AddCommand(newServeTokenCmd())
	return cmd
}

func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runServe(ctx context.Context, cmd *cobra.Command, addr, db, project string, refresh time.Duration, logger *slog.Logger) error {
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	projects, err := st.Projects(ctx)
	if err != nil {
		return err
	}
	if len(projects) == 0 {
		text, err := newProjectToken(ctx, st, project, "bootstrap")
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "lrkit serve: created project %q; its API token (shown once): %s\n", project, text)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return badInput(fmt.Errorf("--addr: %w", err))
	}
	srv := &http.Server{Handler: server.New(st, server.Options{Logger: logger, Refresh: refresh}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(cmd.ErrOrStderr(), "lrkit serve: listening on http://%s\n", ln.Addr())
	logger.Info("serving", "addr", ln.Addr().String(), "postgres", st.IsPostgres())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newProjectToken makes a token for project, creating the project if it
// does not exist.
func newProjectToken(ctx context.Context, st *store.Store, project, name string) (string, error) {
	p, err := st.ProjectByName(ctx, project)
	if errors.Is(err, store.ErrNotFound) {
		p, err = st.CreateProject(ctx, project)
	}
	if err != nil {
		return "", err
	}
	text, _, err := st.CreateToken(ctx, p.ID, name)
	return text, err
}

func newServeTokenCmd() *cobra.Command {
	var db, project, name string
	cmd := &cobra.Command{
		Use:   "token --project P [--db lrkit.db] [--name N]",
		Short: "Create an API token for a project (creating the project if needed) and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if project == "" {
				return badInput(errors.New("--project is required"))
			}
			st, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			text, err := newProjectToken(cmd.Context(), st, project, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), text)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "lrkit.db", "SQLite file or postgres:// URL")
	cmd.Flags().StringVar(&project, "project", "", "project name (required)")
	cmd.Flags().StringVar(&name, "name", "cli", "a name for the token")
	return cmd
}
