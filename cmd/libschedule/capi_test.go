package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// built holds the c-shared library built once for this test binary.
var built struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// buildLibrary builds this package with -buildmode=c-shared into a
// temporary directory and returns it (liblrkit_schedule.so and .h).
func buildLibrary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the shared library; skipped in -short mode")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "libschedule-test-")
		if built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(built.dir, "liblrkit_schedule.so"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build -buildmode=c-shared: %v\n%s", built.err, built.out)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestCAPI compiles testdata/capi.c against the built library and header
// and checks every function through C against package schedule.
func TestCAPI(t *testing.T) {
	dir := buildLibrary(t)
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("gcc not found: the C API test needs a C compiler (Debian package gcc)")
	}
	exe := filepath.Join(t.TempDir(), "capi")
	out, err := exec.Command(cc, "-Wall", "-Werror", "-o", exe, "testdata/capi.c", "-I"+dir, "-L"+dir,
		"-llrkit_schedule", "-Wl,-rpath,"+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	steps := []int64{0, 1, 5, 10, 99, 100, 101, 1000, 123456789, 1<<63 - 1, -3} // as in capi.c
	for _, tc := range []struct{ spec, parity string }{
		{"warmup(cosine(peak=0.1, steps=1000), steps=100)", ""},
		{"wsd(peak=3e-4, steps=1000, warmup=50, decay=0.2, shape=1-sqrt)", ""},
		{"cosine(peak=0.1, steps=100)", "pytorch"},
		{`{"kind":"linear","peak":0.5,"steps":100}`, ""},
		{"multistep(peak=0.1, milestones=[10, 100], gamma=0.5)", ""},
	} {
		want, err := schedule.Parse(tc.spec)
		if strings.HasPrefix(tc.spec, "{") {
			want, err = schedule.ParseJSON([]byte(tc.spec))
		}
		if err == nil && tc.parity != "" {
			want, err = schedule.WithParity(want, tc.parity)
		}
		if err != nil {
			t.Fatal(err)
		}
		wantJS, _ := schedule.ToJSON(want)
		lines := runCAPI(t, exe, tc.spec, tc.parity)
		check := func(key, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %s %q, want %q", tc.spec, key, got, want)
			}
		}
		check("abi", lines["abi"], strconv.Itoa(abiVersion))
		check("toolong", lines["toolong"], "spec of 2147483648 bytes or parity of 0 bytes: more than the 1073741824 the library reads")
		check("canonical", lines["canonical"], want.String())
		check("json", lines["json"], string(wantJS))
		wantVals := make([]string, len(steps))
		for i, s := range steps {
			wantVals[i] = formatC(want.LR(s))
		}
		check("values", lines["values"], "-1 "+strings.Join(wantVals, " "))
		var rng []string
		for i := int64(0); i < 20; i++ {
			rng = append(rng, formatC(want.LR(7*i)))
		}
		check("range", lines["range"], "-1 "+strings.Join(rng, " "))
		check("badargs", lines["badargs"], "-2 -2")
		for i, s := range steps {
			check("lr", lines["lr "+strconv.FormatInt(s, 10)], wantVals[i])
		}
	}
	lines := runCAPI(t, exe, "cosine(peek=1, steps=10)", "")
	if got, want := lines["error"], `spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)`; got != want {
		t.Errorf("bad spec through C: %q, want %q", got, want)
	}
}

// formatC prints v as C's printf("%.17g") does for finite values.
func formatC(v float64) string {
	s := strconv.FormatFloat(v, 'g', 17, 64)
	// Go's 'g' keeps trailing zeros of the 17 digits where C's %g drops them.
	if mant, exp, ok := strings.Cut(s, "e"); ok {
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		return mant + "e" + exp
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// runCAPI runs the C program and returns its lines by key ("lr STEP" for
// the lr lines).
func runCAPI(t *testing.T, exe string, args ...string) map[string]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("capi %q: %v\n%s", args, err, stderr.Bytes())
	}
	out := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		if key == "lr" {
			step, v, _ := strings.Cut(val, " ")
			key, val = "lr "+step, v
		}
		out[key] = val
	}
	return out
}
