package server

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/lrkit/lrkit/store"
)

// The load tests' store and server, configured as lrkit serve configures
// them: with LRKIT_LOAD_INGEST_NICE=N (1 to 19), as `lrkit serve
// --ingest-nice N` does (metric ingest on threads at nice value N, the
// extra Go processors and the collector settings of PrioritizeRates);
// otherwise as lrkit serve does by default. scripts/server-load.sh
// replaces this file with store.Open and New(st, Options{}) for
// revisions that predate it.

// rigNice is the nice value of the load tests' ingest threads (0: the
// usual priority).
func rigNice() int {
	if n, err := strconv.Atoi(os.Getenv("LRKIT_LOAD_INGEST_NICE")); err == nil && n >= 1 && n <= store.MaxBackgroundNice {
		return n
	}
	return 0
}

// openRigStore opens the load tests' store at path.
func openRigStore(ctx context.Context, path string) (*store.Store, error) {
	return store.OpenWith(ctx, path, store.Options{BackgroundNice: rigNice()})
}

// newRigServer returns the load tests' server over st, with the process
// tuned as lrkit serve tunes it, until the test ends.
func newRigServer(t testing.TB, st *store.Store) *Server {
	srv := New(st, Options{})
	t.Cleanup(func() { srv.Close() })
	changed, restore := srv.PrioritizeRates()
	if changed != "" {
		t.Logf("ingest at nice %d: %s", rigNice(), changed)
	}
	t.Cleanup(restore)
	return srv
}
