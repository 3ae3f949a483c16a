package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/lrkit/lrkit/internal/safefile"
)

// KJVRange is the passage given to the bible program: the whole book.
const KJVRange = "gen1:1-rev22:21"

// KJVPath returns where the KJV text is kept in the cache directory.
func KJVPath() (string, error) {
	c, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "kjv.txt"), nil
}

// EnsureKJV writes the King James Bible as plain text to KJVPath unless it
// is there already, by running Debian bible-kjv's reader:
// `bible -f gen1:1-rev22:21 </dev/null` (4,404,412 bytes, 31,102 verse
// lines such as "Ge1:1 In the beginning God created the heaven and the
// earth."). The package's own data file is compressed in a private
// format, so the program is needed.
func EnsureKJV(ctx context.Context, log io.Writer) (string, error) {
	path, err := KJVPath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if log == nil {
		log = io.Discard
	}
	bin, err := exec.LookPath("bible")
	if err != nil {
		return "", fmt.Errorf("KJV text: the bible program is not installed; install it with `apt-get install bible-kjv`")
	}
	fmt.Fprintf(log, "fetch: %s -f %s > %s\n", bin, KJVRange, path)
	cmd := exec.CommandContext(ctx, bin, "-f", KJVRange) // Stdin nil reads /dev/null
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		return "", fmt.Errorf("KJV text: bible -f %s: %w %s", KJVRange, err, stderr)
	}
	if len(out) < 4_000_000 {
		return "", fmt.Errorf("KJV text: bible wrote %d bytes, want the whole book (about 4.4 MB)", len(out))
	}
	if err := safefile.WriteAtomic(path, out); err != nil {
		return "", fmt.Errorf("KJV text: %w", err)
	}
	return path, nil
}

// Text is a character-level corpus: the text as token ids over a byte
// vocabulary, split into training and validation streams.
type Text struct {
	Vocab []byte  // Vocab[id] is the byte that token id stands for, ascending
	Train []uint8 // token ids
	Val   []uint8
}

// TextChunk is the granule of the train/validation split of a text:
// chunk i (bytes [i·TextChunk, (i+1)·TextChunk)) goes to validation when
// i mod TextValEvery == TextValEvery−1, so both streams cover the whole
// book (the last tenth alone would be mostly the New Testament).
const (
	TextChunk    = 16384
	TextValEvery = 10
)

// KJV reads the KJV text from the cache (see EnsureKJV). If limit > 0,
// only its first limit bytes are used.
func KJV(limit int) (*Text, error) {
	path, err := KJVPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("KJV text is missing (%s); prepare it with `%s` (needs `apt-get install bible-kjv`)", path, FetchCommand)
		}
		return nil, err
	}
	if limit > 0 && limit < len(b) {
		b = b[:limit]
	}
	return NewText(b)
}

// NewText builds a character-level corpus from raw bytes: the vocabulary
// is the set of distinct bytes in ascending order (deterministic), and the
// text is split into chunks as TextChunk describes.
func NewText(b []byte) (*Text, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("text: %d bytes, want at least 2", len(b))
	}
	var seen [256]bool
	for _, c := range b {
		seen[c] = true
	}
	var id [256]uint8
	t := &Text{}
	for c := range 256 {
		if seen[c] {
			id[c] = uint8(len(t.Vocab))
			t.Vocab = append(t.Vocab, byte(c))
		}
	}
	for start, i := 0, 0; start < len(b); start, i = start+TextChunk, i+1 {
		end := min(start+TextChunk, len(b))
		dst := &t.Train
		if i%TextValEvery == TextValEvery-1 {
			dst = &t.Val
		}
		for _, c := range b[start:end] {
			*dst = append(*dst, id[c])
		}
	}
	if len(t.Val) == 0 {
		// A text shorter than TextValEvery chunks: hold out its last tenth.
		n := len(t.Train) - max(1, len(t.Train)/TextValEvery)
		t.Val = slices.Clone(t.Train[n:])
		t.Train = t.Train[:n]
	}
	return t, nil
}

// Decode maps token ids back to text.
func (t *Text) Decode(ids []uint8) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = t.Vocab[id]
	}
	return string(b)
}
