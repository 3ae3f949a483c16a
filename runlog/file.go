package runlog

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/internal/safefile"
)

// Format is a run-log file format.
type Format int

// The formats, told apart by file name (see FormatOf).
const (
	FormatCSV      Format = iota + 1 // .csv
	FormatJSONL                      // .jsonl or .ndjson
	FormatTFEvents                   // events.out.tfevents.*
)

// String names the format.
func (f Format) String() string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatJSONL:
		return "jsonl"
	case FormatTFEvents:
		return "tfevents"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatOf tells the format of a run log from its name: ".csv" is CSV,
// ".jsonl" and ".ndjson" are JSON Lines, and a base name containing
// "tfevents" (TensorBoard's events.out.tfevents.<time>.<host>...) is an
// event file. Extensions are matched case-insensitively.
func FormatOf(path string) (Format, error) {
	base := filepath.Base(path)
	if strings.Contains(base, "tfevents") {
		return FormatTFEvents, nil
	}
	switch strings.ToLower(filepath.Ext(base)) {
	case ".csv":
		return FormatCSV, nil
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	}
	return 0, fmt.Errorf("%s: unknown run-log format: want a .csv, .jsonl or .ndjson file or a TensorBoard events.out.tfevents.* file", path)
}

// NewReader returns a reader of r in the given format.
func NewReader(r io.Reader, format Format, opts ReadOptions) (Reader, error) {
	switch format {
	case FormatCSV:
		return NewCSVReader(r, opts), nil
	case FormatJSONL:
		return NewJSONLReader(r, opts), nil
	case FormatTFEvents:
		return NewTFEventsReader(r, opts), nil
	}
	return nil, fmt.Errorf("runlog: unknown format %v", format)
}

// FileReader is a Reader of an open file; Close closes the file.
type FileReader struct {
	Reader
	f io.Closer
}

// Close closes the file.
func (fr *FileReader) Close() error { return fr.f.Close() }

// Open opens the run log at path, in the format its name tells (FormatOf).
// opts.Name defaults to path.
func Open(path string, opts ReadOptions) (*FileReader, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	// Regular files only: a device or a named pipe would hang the reader.
	// Logs are streamed, so they have no size cap.
	f, err := safefile.Open(path, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = path
	}
	r, err := NewReader(f, format, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &FileReader{Reader: r, f: f}, nil
}

// ReadFile reads every record of the run log at path (see Open). Warnings
// go to opts.OnWarning; use Open and Reader.Warnings to collect them after.
// A directory is read as a TensorBoard run directory (see ReadEventDir).
func ReadFile(path string, opts ReadOptions) ([]Record, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return ReadEventDir(path, opts)
	}
	r, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return ReadAll(r)
}

// Create creates (or truncates) the file at path and returns a writer of
// the format its name tells. fields are the CSV columns besides step; the
// other formats write whatever each record holds. Close closes the file.
func Create(path string, fields Field) (Writer, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatCSV:
		w := NewCSVWriter(f, fields)
		w.closeFn = f.Close
		return w, nil
	case FormatJSONL:
		w := NewJSONLWriter(f)
		w.closeFn = f.Close
		return w, nil
	default:
		w := NewTFEventWriter(f, TFEventOptions{})
		w.closeFn = f.Close
		return w, nil
	}
}

// ReadEventDir reads the TensorBoard event files of one run directory, as
// a writer that was restarted leaves them: one file per writer, in the
// order of the Unix time in their names (events.out.tfevents.<time>.<host>
// ...). Where a later file starts at a step an earlier one already
// reached, the earlier records from that step on are dropped, as
// TensorBoard does when a run resumes from a checkpoint; a warning says how
// many. Files in subdirectories are not read.
func ReadEventDir(dir string, opts ReadOptions) ([]Record, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*tfevents*"))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no TensorBoard event files (events.out.tfevents.*) in the directory", dir)
	}
	sort.SliceStable(files, func(i, j int) bool {
		ti, tj := eventFileTime(files[i]), eventFileTime(files[j])
		if ti != tj {
			return ti < tj
		}
		return files[i] < files[j]
	})
	var out []Record
	for _, path := range files {
		o := opts
		o.Name = ""
		recs, err := ReadFile(path, o)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 && len(out) > 0 && recs[0].Step <= out[len(out)-1].Step {
			cut := sort.Search(len(out), func(i int) bool { return out[i].Step >= recs[0].Step })
			if opts.OnWarning != nil {
				opts.OnWarning(Warning{File: path, Offset: -1, Step: recs[0].Step, Msg: fmt.Sprintf(
					"restarts at step %d: %d records of earlier files from that step on are replaced", recs[0].Step, len(out)-cut)})
			}
			out = out[:cut]
		}
		out = append(out, recs...)
	}
	return out, nil
}

// eventFileTime is the Unix time in an event file's name, or 0.
func eventFileTime(path string) int64 {
	_, rest, ok := strings.Cut(filepath.Base(path), "tfevents.")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, ".")
	t, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0
	}
	return t
}
