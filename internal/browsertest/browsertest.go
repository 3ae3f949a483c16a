// Package browsertest runs Debian's chromium headless for end-to-end tests
// of what lrkit draws and serves: the dashboard, the SVG charts.
package browsertest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// Flags start chromium headless on a machine with no network: without the
// background-networking flags it tries, and fails, to reach Google's hosts
// at every start.
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// Chromium returns a function that runs chromium with Flags, the given
// arguments and, unless they name one with --user-data-dir (to keep
// cookies across calls), a fresh profile; it returns chromium's standard
// output and fails the test after 90 s. The test is skipped when chromium
// is not installed (Debian package chromium) or with -short.
func Chromium(t testing.TB) func(args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package: chromium)")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	return func(args ...string) string {
		t.Helper()
		all := append(append([]string(nil), Flags...), args...)
		if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--user-data-dir=") }) {
			all = append(all, "--user-data-dir="+t.TempDir())
		}
		cmd := exec.Command(bin, all...)
		done := make(chan struct{})
		var out []byte
		var runErr error
		go func() { out, runErr = cmd.Output(); close(done) }()
		select {
		case <-done:
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("chromium timed out")
		}
		if runErr != nil {
			t.Fatalf("chromium: %v", runErr)
		}
		return string(out)
	}
}
