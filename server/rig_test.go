package server

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/lrkit/lrkit/store"
)

// The load tests' store and server, configured as lrkit serve configures
// them: with LRKIT_LOAD_INGEST_NICE=N (1 to 19), as `lrkit serve
// --ingest-nice N` does (metric ingest on threads at nice value N, the
// extra Go processors and the collector settings of PrioritizeRates);
// otherwise as lrkit serve does by default (two Go processors more over
// an SQLite file). A malformed or out-of-range value fails the test.
// scripts/lib/load.sh replaces this file with store.Open and
// New(st, Options{}) for revisions that predate ingest.go.

// rigNice is the nice value of the load tests' ingest threads (0: the
// usual priority), from LRKIT_LOAD_INGEST_NICE; a value that is not one
// is an error, not the default.
func rigNice() (int, error) {
	text := os.Getenv("LRKIT_LOAD_INGEST_NICE")
	if text == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > store.MaxBackgroundNice {
		return 0, fmt.Errorf("LRKIT_LOAD_INGEST_NICE=%q: want 0 (off) to %d", text, store.MaxBackgroundNice)
	}
	return n, nil
}

// rigShare is the load tests' Options.IngestShare, from
// LRKIT_LOAD_INGEST_SHARE (unset: the default).
func rigShare() (float64, error) {
	text := os.Getenv("LRKIT_LOAD_INGEST_SHARE")
	if text == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || !(v > 0 && v <= 1) {
		return 0, fmt.Errorf("LRKIT_LOAD_INGEST_SHARE=%q: want more than 0, at most 1", text)
	}
	return v, nil
}

// openRigStore opens the load tests' store at path.
func openRigStore(ctx context.Context, path string) (*store.Store, error) {
	nice, err := rigNice()
	if err != nil {
		return nil, err
	}
	return store.OpenWith(ctx, path, store.Options{BackgroundNice: nice})
}

// newRigServer returns the load tests' server over st, with the process
// tuned as lrkit serve tunes it, until the test ends.
func newRigServer(t testing.TB, st *store.Store) *Server {
	share, err := rigShare()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{}
	opts.IngestShare = share // scripts/lib/load.sh drops this line for revisions before IngestShare
	srv := New(st, opts)
	t.Cleanup(func() { srv.Close() })
	changed, restore := srv.PrioritizeRates()
	if changed != "" {
		t.Logf("process tuned as lrkit serve tunes it (ingest nice %d): %s", st.BackgroundNice(), changed)
	}
	t.Cleanup(restore)
	return srv
}
