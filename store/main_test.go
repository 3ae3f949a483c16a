package store

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain starts a throwaway PostgreSQL server with testdata/pg.sh when
// LRKIT_TEST_POSTGRES is "auto", and stops it after the tests; a URL in
// LRKIT_TEST_POSTGRES is used as it is, and without it only SQLite is
// tested.
func TestMain(m *testing.M) {
	if os.Getenv("LRKIT_TEST_POSTGRES") != "auto" {
		os.Exit(m.Run())
	}
	out, err := exec.Command("testdata/pg.sh", "start").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "store: LRKIT_TEST_POSTGRES=auto: testdata/pg.sh start: %v\n", err)
		os.Exit(1)
	}
	url := strings.TrimSpace(string(out))
	os.Setenv("LRKIT_TEST_POSTGRES", url)
	code := m.Run()
	if err := exec.Command("testdata/pg.sh", "stop", url).Run(); err != nil {
		fmt.Fprintf(os.Stderr, "store: testdata/pg.sh stop: %v\n", err)
	}
	os.Exit(code)
}
