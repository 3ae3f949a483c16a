// Package browsertest runs Debian's chromium headless for end-to-end tests
// of what lrkit draws and serves: the dashboard, the SVG charts.
package browsertest

import (
	"os/exec"
	"testing"
	"time"
)

// Flags start chromium headless on a machine with no network: without the
// background-networking flags it tries, and fails, to reach Google's hosts
// at every start.
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// Chromium returns a function that runs chromium with Flags, a fresh
// profile and the given arguments, and returns its standard output. The
// test is skipped when chromium is not installed (Debian package
// chromium) or with -short.
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
		all := append(append(append([]string(nil), Flags...), "--user-data-dir="+t.TempDir()), args...)
		cmd := exec.Command(bin, all...)
		done := make(chan struct{})
		var out []byte
		var runErr error
		go func() { out, runErr = cmd.Output(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
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
