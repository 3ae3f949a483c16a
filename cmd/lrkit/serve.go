package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/server"
	"github.com/lrkit/lrkit/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { registerCommand(newServeCmd) }

// serveFlags are the flags of lrkit serve.
type serveFlags struct {
	addr, db, logFormat, project string
	refresh, dbTimeout           time.Duration
	maxSteps                     int64
	init, behindProxy            bool
	ingestNice                   int
	ingestShare                  float64
}

func newServeCmd() *cobra.Command {
	var o serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--db lrkit.db|postgres://...] [--init]",
		Short: "Serve the learning-rate control plane: HTTP API, dashboard, /metrics",
		Long: `Serve lrkit's learning-rate control plane: training jobs ask it for their
learning rate and report their metrics over HTTP/JSON (/v1/, described at
/openapi.json), the dashboard at / shows every run, and /healthz and
/metrics (Prometheus) watch the server. Runs persist in --db: an SQLite
file, or a postgres:// URL shared by several replicas.

On its first start on a new database (a file that does not exist yet, or
an empty PostgreSQL database) serve creates it, with the project
--project and an API token for it, printed once; ` + "`lrkit serve token`" + `
makes more. Replicas starting together on one empty PostgreSQL database
create one project between them. An SQLite file that exists but holds no
lrkit schema (truncated to 0 bytes, say) is refused rather than started
afresh: --init creates a fresh database in it. A damaged file (SQLite's
quick integrity check runs at every start) is always refused: restore a
backup. SIGINT or SIGTERM stops serve gracefully.

Failed authentications (sign-in, session cookie or API token) are limited
per client address: after ` + strconv.Itoa(server.DefaultAuthFailures) + ` in a row, one more every ` +
			server.DefaultAuthFailureEvery.String() + `, and 429
with Retry-After meanwhile. Behind a reverse proxy that terminates TLS,
give --behind-proxy: the client is then the last address of
X-Forwarded-For, and X-Forwarded-Proto: https makes the dashboard's
cookies Secure. Without it both headers are ignored (any client can send
them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), o.logFormat)
			if err != nil {
				return badInput(err)
			}
			for _, d := range []struct {
				name string
				v    time.Duration
			}{{"--refresh", o.refresh}, {"--db-timeout", o.dbTimeout}} {
				if d.v <= 0 {
					return badInput(fmt.Errorf("%s %v: want a positive duration, e.g. 1s", d.name, d.v))
				}
			}
			if o.maxSteps <= 0 {
				return badInput(fmt.Errorf("--max-steps %d: want a positive number of steps", o.maxSteps))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd, o, logger)
		},
	}
	addServeFlags(cmd.Flags(), &o)
	cmd.AddCommand(newServeTokenCmd())
	return cmd
}

// addServeFlags defines the flags of lrkit serve in f, into o.
func addServeFlags(f *pflag.FlagSet, o *serveFlags) {
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&o.db, "db", "lrkit.db", "SQLite file or postgres:// URL")
	f.BoolVar(&o.init, "init", false, "create a fresh database even in an existing SQLite file that holds none (refused without it)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.project, "project", "default", "project created, with a token, on a new database")
	f.DurationVar(&o.refresh, "refresh", time.Second, "how often cached runs are compared with the database (replicas see each other's changes within about this time)")
	f.DurationVar(&o.dbTimeout, "db-timeout", 5*time.Second, "longest a database call may take before the request fails (503)")
	f.Int64Var(&o.maxSteps, "max-steps", server.DefaultMaxSteps, "largest step or budget accepted or made by an action")
	f.IntVar(&o.ingestNice, "ingest-nice", 0, "1-19: metric ingest on threads at this nice value (Linux), with more Go processors and a rarer "+
		"garbage collector (1 GiB soft limit), so rates stay fast while batches arrive in bursts; ingest is slower when the cores are saturated (docs/server.md). 0: off")
	f.Float64Var(&o.ingestShare, "ingest-share", server.DefaultIngestShare, "largest share of the time the metrics committer works while rate requests are being answered "+
		"(it rests between group commits, so a burst of batches does not delay rates; ingest alone, or falling behind, keeps full speed). 1: no limit")
	f.BoolVar(&o.behindProxy, "behind-proxy", false, "clients come through a trusted reverse proxy that terminates TLS: "+
		"take the client's address from X-Forwarded-For and make cookies Secure on X-Forwarded-Proto: https (ignored without this flag)")
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

// openServeDB opens the database of serve and serve token, checked; an
// emptied SQLite file is refused unless init.
func openServeDB(ctx context.Context, db string, init bool, timeout time.Duration, nice int) (*store.Store, error) {
	st, err := store.OpenWith(ctx, db, store.Options{RefuseEmptied: !init, Check: true, Timeout: timeout, BackgroundNice: nice})
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, badInput(fmt.Errorf("%w\n(if this file held runs, restore it from a backup, see docs/server.md; to start afresh in it, run lrkit serve --init)", err))
	case errors.Is(err, store.ErrDamaged):
		return nil, fmt.Errorf("%w\n(the database is damaged: restore it from a backup, see docs/server.md)", err)
	}
	return st, err
}

func runServe(ctx context.Context, cmd *cobra.Command, o serveFlags, logger *slog.Logger) error {
	if o.ingestNice < 0 || o.ingestNice > store.MaxBackgroundNice {
		return badInput(fmt.Errorf("--ingest-nice %d: want 0 (off) to %d", o.ingestNice, store.MaxBackgroundNice))
	}
	if !(o.ingestShare > 0 && o.ingestShare <= 1) {
		return badInput(fmt.Errorf("--ingest-share %v: want more than 0, at most 1", o.ingestShare))
	}
	// Listen first: a bad --addr must not leave a new database behind.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return badInput(fmt.Errorf("--addr: %w", err))
	}
	defer ln.Close() // srv.Serve closes it too; this is for an early return
	st, err := openServeDB(ctx, o.db, o.init, o.dbTimeout, o.ingestNice)
	if err != nil {
		return err
	}
	defer st.Close()
	text, created, err := st.Bootstrap(ctx, o.project, "bootstrap")
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(cmd.ErrOrStderr(), "lrkit serve: created project %q; its API token (shown once): %s\n", o.project, text)
	}
	h := st.Health()
	fmt.Fprintf(cmd.ErrOrStderr(), "lrkit serve: database %s, schema %d, integrity %s\n", h.Kind, h.Schema, h.Integrity)
	api := server.New(st, server.Options{Logger: logger, Refresh: o.refresh, MaxSteps: o.maxSteps, IngestShare: o.ingestShare,
		BehindProxy: o.behindProxy})
	defer api.Close()
	changed, restore := api.PrioritizeRates()
	defer restore()
	printServePriorities(cmd.ErrOrStderr(), o, changed)
	srv := &http.Server{Handler: api,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(cmd.ErrOrStderr(), "lrkit serve: listening on http://%s\n", ln.Addr())
	if o.behindProxy {
		fmt.Fprintln(cmd.ErrOrStderr(), "lrkit serve: behind a proxy: client addresses from X-Forwarded-For, cookies Secure on X-Forwarded-Proto: https")
	}
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

// printServePriorities says how the server shares the processors between
// rates and metric ingest (changed: what PrioritizeRates set).
func printServePriorities(w io.Writer, o serveFlags, changed string) {
	if o.ingestNice > 0 {
		fmt.Fprintf(w, "lrkit serve: metric ingest at nice %d (%s)\n", o.ingestNice, cmp.Or(changed, "GOMAXPROCS, GOGC and GOMEMLIMIT as set"))
	} else if changed != "" {
		fmt.Fprintf(w, "lrkit serve: %s (so that rates stay fast while metrics arrive: docs/server.md)\n", changed)
	}
	if o.ingestShare < 1 {
		fmt.Fprintf(w, "lrkit serve: metric commits take at most %.2g of the time while rates are being answered (--ingest-share)\n", o.ingestShare)
	}
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
	var list bool
	var revoke int64
	cmd := &cobra.Command{
		Use:   "token --project P [--db lrkit.db] [--name N | --list | --revoke ID]",
		Short: "Create an API token for a project (creating the project if needed) and print it; list or revoke tokens",
		Long: `Create an API token for a project, creating the project if needed, and
print it (it is shown once: only its SHA-256 hash is stored). --list prints
the project's live tokens (ID, name, creation time); --revoke ID revokes
one: servers stop accepting it within their token cache time (10 s).
An emptied or damaged SQLite file is refused, as by lrkit serve.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if project == "" {
				return badInput(errors.New("--project is required"))
			}
			if list && revoke != 0 {
				return badInput(errors.New("--list and --revoke: give one of them"))
			}
			return serveToken(cmd, db, project, name, list, revoke)
		},
	}
	cmd.Flags().StringVar(&db, "db", "lrkit.db", "SQLite file or postgres:// URL")
	cmd.Flags().StringVar(&project, "project", "", "project name (required)")
	cmd.Flags().StringVar(&name, "name", "cli", "a name for the token")
	cmd.Flags().BoolVar(&list, "list", false, "list the project's live tokens")
	cmd.Flags().Int64Var(&revoke, "revoke", 0, "revoke the token with this ID")
	return cmd
}

// serveToken is lrkit serve token: a new token of project (created if
// needed), the project's live tokens (list), or a revoked one (revoke).
func serveToken(cmd *cobra.Command, db, project, name string, list bool, revoke int64) error {
	ctx := cmd.Context()
	st, err := openServeDB(ctx, db, false, 30*time.Second, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if !list && revoke == 0 {
		text, err := newProjectToken(ctx, st, project, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), text)
		return nil
	}
	p, err := st.ProjectByName(ctx, project)
	if err != nil {
		return badInput(fmt.Errorf("--project %q: %w", project, err))
	}
	if revoke != 0 {
		if err := st.RevokeToken(ctx, p.ID, revoke); err != nil {
			return badInput(fmt.Errorf("--revoke %d: no live token with that ID in project %q", revoke, project))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "revoked token %d of project %q\n", revoke, project)
		return nil
	}
	toks, err := st.Tokens(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\t%s\n", t.ID, t.Name, t.Created.UTC().Format(time.RFC3339))
	}
	return nil
}
