# Shared by the load scripts (server-load.sh, store-paced.sh,
# ingest-compare.sh); source it, then call load_init first.

# load_init OUT: go to the repository's root, make the output directory
# OUT, set $go (GO, else go on the PATH, else /usr/local/go/bin/go) and
# $tmp, a temporary directory removed at exit.
load_init() {
	cd "$(dirname "${BASH_SOURCE[0]}")/../.."
	out=$1
	mkdir -p "$out"
	go=${GO:-go}
	if ! command -v "$go" >/dev/null; then go=/usr/local/go/bin/go; fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
}

# tree_of REV DIR: the files of git revision REV in DIR.
tree_of() {
	mkdir -p "$2"
	git archive "$1" | tar -x -C "$2"
}

# test_binary DIR PKG BIN: the test binary of package PKG of the tree in
# DIR, written to BIN (relative to the repository's root).
test_binary() {
	(cd "$1" && "$go" test -c -o "$OLDPWD/$3" "$2")
}

# server_load_tests DIR: this tree's load generator and load tests in the
# server package of the tree in DIR (a revision from 9e248a7 on: the
# store's CreateProject, CreateToken and CreateRun as there), with the rig
# of its day: this tree's rig_test.go (the store and server as lrkit serve
# opens them; without the ingest share for revisions before it) if the
# revision has ingest.go, else store.Open and New(st, Options{}).
server_load_tests() {
	cp server/loadgen_test.go server/ceiling_test.go server/load_test.go "$1/server/"
	if [ -e "$1/server/ingest.go" ]; then
		cp server/rig_test.go "$1/server/"
		if ! grep -q 'IngestShare' "$1/server/server.go"; then
			# Before Options.IngestShare: refuse LRKIT_LOAD_INGEST_SHARE.
			sed -i 's|^\(\t*\)opts\.IngestShare = share .*|\1if share != 0 { t.Fatal("LRKIT_LOAD_INGEST_SHARE: this revision has no Options.IngestShare") }|' "$1/server/rig_test.go"
		fi
		return
	fi
	cat >"$1/server/rig_test.go" <<'GO'
package server

import (
	"context"
	"testing"

	"github.com/lrkit/lrkit/store"
)

func openRigStore(ctx context.Context, path string) (*store.Store, error) { return store.Open(ctx, path) }

func newRigServer(t testing.TB, st *store.Store) *Server {
	srv := New(st, Options{})
	if c, ok := any(srv).(interface{ Close() error }); ok {
		t.Cleanup(func() { c.Close() })
	}
	return srv
}
GO
}
