// Package safefile opens files named by users through one bounded path:
// only regular files (never a device such as /dev/zero, a named pipe or a
// directory), and never more than a stated number of bytes. Every reader
// of a user-named file in lrkit (a table schedule's CSV, a run log, a
// study file) goes through it, so a bad name gives a clear error instead
// of a hang or unbounded memory.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"
)

// DefaultMax is the size cap used when a caller has no better bound:
// larger than any schedule table or study file a person writes.
const DefaultMax = 256 << 20

// ErrTooLarge is wrapped by the error of a file over its cap.
var ErrTooLarge = errors.New("file too large")

// Open opens name for reading when it is a regular file of at most max
// bytes (max <= 0 means DefaultMax). The returned reader also stops with
// an error wrapping ErrTooLarge if the file grows past max while it is
// read.
func Open(name string, max int64) (io.ReadCloser, error) {
	if max <= 0 {
		max = DefaultMax
	}
	// Stat before opening: opening a FIFO for reading blocks until a
	// writer appears.
	fi, err := os.Stat(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open" // what the user asked for
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", name, describeMode(fi.Mode()))
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d are read", name, ErrTooLarge, fi.Size(), max)
	}
	f, err := os.OpenFile(name, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, err
	}
	// The name may have been replaced between Stat and Open: check what
	// was opened.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: not a regular file (%s)", name, describeMode(fi.Mode()))
		}
		return nil, err
	}
	return &capped{f: f, name: name, left: max}, nil
}

// ReadFile reads a whole regular file of at most max bytes.
func ReadFile(name string, max int64) ([]byte, error) {
	r, err := Open(name, max)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func describeMode(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// capped reads at most left bytes and fails after that.
type capped struct {
	f    *os.File
	name string
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more means the file grew past its cap.
		var one [1]byte
		if n, _ := c.f.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%s: %w: it grew while being read", c.name, ErrTooLarge)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.f.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *capped) Close() error { return c.f.Close() }

// Excerpt returns s quoted for an error message, cut to at most n bytes
// (at a character boundary) with "..." when longer: a bad cell of a huge
// file must not make a huge error line.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}
