// Package iofault makes file writes fail for tests of what a program
// does when the disk fails: a test runs itself again in a child process
// (InChild) whose file size limit stops the files it names from growing
// (StopGrowth), so that the next write past the limit fails with EFBIG,
// as SQLite reports as an I/O error. The limit is the whole process's,
// hence the child.
package iofault

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv names, in the child process, the test it runs.
const childEnv = "LRKIT_IOFAULT_CHILD"

// InChild reports whether the calling test runs in the child process. If
// not, it runs the test again in a child (this test binary, -test.run of
// the test's name), fails t with the child's output if the child does not
// pass, and returns false: the caller then returns.
func InChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return false
}
