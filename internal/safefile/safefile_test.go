package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(small, []byte("step,lr\n0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		max  int64
		want string // "" for success
	}{
		{small, 100, ""},
		{small, 5, small + ": file too large: 12 bytes, at most 5 are read"},
		{"/dev/zero", 0, "/dev/zero: not a regular file (a character device)"},
		{fifo, 0, fifo + ": not a regular file (a named pipe)"},
		{dir, 0, dir + ": not a regular file (a directory)"},
		{filepath.Join(dir, "missing"), 0, "no such file or directory"},
	}
	for _, tt := range tests {
		b, err := ReadFile(tt.name, tt.max)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want == "" && string(b) != "step,lr\n0,1\n":
			t.Errorf("%s: read %q", tt.name, b)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
		}
	}
	_, err := ReadFile(small, 5)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v does not wrap ErrTooLarge", err)
	}
}

func TestCappedGrowth(t *testing.T) {
	name := filepath.Join(t.TempDir(), "grow")
	if err := os.WriteFile(name, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(name, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The file grows after it was opened.
	if err := os.WriteFile(name, []byte("1234567890"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	if n != 5 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	if _, err = r.Read(buf); !errors.Is(err, ErrTooLarge) {
		t.Errorf("read past the cap: %v, want ErrTooLarge", err)
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 10, `"abc"`},
		{strings.Repeat("x", 100), 4, `"xxxx"... (100 bytes)`},
		{"ééé", 3, `"é"... (6 bytes)`},
	}
	for _, tt := range tests {
		if got := Excerpt(tt.s, tt.n); got != tt.want {
			t.Errorf("Excerpt(%q, %d) = %s, want %s", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "out.json")
	if err := WriteAtomic(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "second" {
		t.Fatalf("read back %q, %v; want \"second\"", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "sub", ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	// A directory in the way is an error naming the path, not a panic.
	if err := WriteAtomic(filepath.Join(dir, "sub"), []byte("x")); err == nil || !strings.Contains(err.Error(), "sub") {
		t.Fatalf("writing over a directory: %v, want an error naming it", err)
	}
}
