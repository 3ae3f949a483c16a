package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/internal/safefile"
)

// SklearnTable describes one of scikit-learn's bundled data files.
type SklearnTable struct {
	Name     string // lrkit's name: digits, breast-cancer, wine, iris
	File     string // the file in sklearn/datasets/data/
	Features int
	Classes  int
	Rows     int  // expected rows; 0 accepts any number
	Header   bool // the first line is "rows,features,class names..."
}

// SklearnTables lists the tables lrkit reads. Row, feature and class counts
// are scikit-learn 1.2's (they are checked against each file's header).
var SklearnTables = []SklearnTable{
	{Name: "digits", File: "digits.csv.gz", Features: 64, Classes: 10, Rows: 1797},
	{Name: "breast-cancer", File: "breast_cancer.csv", Features: 30, Classes: 2, Rows: 569, Header: true},
	{Name: "wine", File: "wine_data.csv", Features: 13, Classes: 3, Rows: 178, Header: true},
	{Name: "iris", File: "iris.csv", Features: 4, Classes: 3, Rows: 150, Header: true},
}

// sklearnPackageDir is where the data files sit inside python3-sklearn.
const sklearnPackageDir = "usr/lib/python3/dist-packages/sklearn/datasets/data"

// SklearnDir returns the cache directory that holds the unpacked tables.
func SklearnDir() (string, error) {
	c, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "sklearn"), nil
}

// EnsureSklearn puts scikit-learn's bundled tables in SklearnDir unless
// they are already there: it downloads Debian's python3-sklearn package
// with `apt-get download` (no installation, so none of its ~100 MB of
// dependencies) and unpacks it with `dpkg-deb -x`, keeping only the data
// files. Progress lines go to log (may be nil). It returns the directory.
func EnsureSklearn(ctx context.Context, log io.Writer) (string, error) {
	dir, err := SklearnDir()
	if err != nil {
		return "", err
	}
	if sklearnPresent(dir) {
		return dir, nil
	}
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("scikit-learn data: %w", err)
	}
	work, err := os.MkdirTemp(dir, ".fetch-")
	if err != nil {
		return "", fmt.Errorf("scikit-learn data: %w", err)
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(log, "fetch: apt-get download python3-sklearn (into %s)\n", work)
	cmd := exec.CommandContext(ctx, "apt-get", "download", "python3-sklearn")
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scikit-learn data: apt-get download python3-sklearn: %w\n%s(if the package is unknown, run `apt-get update` first)", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "python3-sklearn_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("scikit-learn data: apt-get download left %d python3-sklearn .deb files in %s, want 1", len(debs), work)
	}
	fmt.Fprintf(log, "fetch: dpkg-deb -x %s\n", filepath.Base(debs[0]))
	out := filepath.Join(work, "root")
	if b, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], out).CombinedOutput(); err != nil {
		return "", fmt.Errorf("scikit-learn data: dpkg-deb -x %s: %w\n%s", debs[0], err, b)
	}
	for _, t := range SklearnTables {
		b, err := os.ReadFile(filepath.Join(out, sklearnPackageDir, t.File))
		if err != nil {
			return "", fmt.Errorf("scikit-learn data: the package has no %s: %w", t.File, err)
		}
		if err := safefile.WriteAtomic(filepath.Join(dir, t.File), b); err != nil {
			return "", fmt.Errorf("scikit-learn data: %w", err)
		}
	}
	fmt.Fprintf(log, "fetch: scikit-learn tables in %s\n", dir)
	return dir, nil
}

func sklearnPresent(dir string) bool {
	for _, t := range SklearnTables {
		if _, err := os.Stat(filepath.Join(dir, t.File)); err != nil {
			return false
		}
	}
	return true
}

// Sklearn reads one of scikit-learn's tables by lrkit name (digits,
// breast-cancer, wine, iris) from SklearnDir. The features are returned
// raw; standardise them with FitStandardizer on the training split.
func Sklearn(name string) (*Set, error) {
	var t *SklearnTable
	for i := range SklearnTables {
		if SklearnTables[i].Name == name {
			t = &SklearnTables[i]
		}
	}
	if t == nil {
		return nil, fmt.Errorf("no scikit-learn table %q", name)
	}
	dir, err := SklearnDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, t.File)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("scikit-learn table %s is missing (%s); prepare it with `%s`", name, path, FetchCommand)
		}
		return nil, err
	}
	return ParseSklearnCSV(path, b, *t)
}

// ParseSklearnCSV parses a scikit-learn data file (gzipped or plain): rows
// of t.Features numbers followed by an integer class label, after a header
// line "rows,features,class names..." when t.Header is set. The header's
// counts must match t. Errors name the file and line.
func ParseSklearnCSV(path string, b []byte, t SklearnTable) (*Set, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	s := &Set{Name: t.Name, D: t.Features, Classes: t.Classes, Shape: []int{t.Features}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	want := -1
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if t.Header && line == 1 {
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s:1: header %q, want rows,features,class names", path, text)
			}
			rows, err1 := strconv.Atoi(fields[0])
			feats, err2 := strconv.Atoi(fields[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%s:1: header %q does not start with two counts", path, text)
			}
			if feats != t.Features || len(fields)-2 != t.Classes {
				return nil, fmt.Errorf("%s:1: header declares %d features and %d classes, want %d and %d", path, feats, len(fields)-2, t.Features, t.Classes)
			}
			want = rows
			continue
		}
		if len(fields) != t.Features+1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d features and a label", path, line, len(fields), t.Features)
		}
		for j, f := range fields[:t.Features] {
			v, err := strconv.ParseFloat(f, 32)
			if err != nil || v != v || v > 3.4e38 || v < -3.4e38 {
				return nil, fmt.Errorf("%s:%d: feature %d is %q, want a finite number", path, line, j+1, f)
			}
			s.X = append(s.X, float32(v))
		}
		y, err := strconv.Atoi(fields[t.Features])
		if err != nil {
			if v, ferr := strconv.ParseFloat(fields[t.Features], 64); ferr == nil && v == float64(int(v)) {
				y, err = int(v), nil
			}
		}
		if err != nil || y < 0 || y >= t.Classes {
			return nil, fmt.Errorf("%s:%d: label %q, want a class in 0..%d", path, line, fields[t.Features], t.Classes-1)
		}
		s.Y = append(s.Y, int32(y))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if t.Header && want < 0 {
		return nil, fmt.Errorf("%s: empty file, want a header line", path)
	}
	if want >= 0 && s.Len() != want {
		return nil, fmt.Errorf("%s: header declares %d rows, the file has %d", path, want, s.Len())
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	if t.Rows > 0 && s.Len() != t.Rows {
		return nil, fmt.Errorf("%s: %d rows, want %d", path, s.Len(), t.Rows)
	}
	return s, nil
}
