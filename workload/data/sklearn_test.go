package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSklearnCSV(t *testing.T) {
	iris := SklearnTable{Name: "t", Features: 2, Classes: 3, Header: true}
	noHead := SklearnTable{Name: "t", Features: 2, Classes: 3}
	tests := []struct {
		name    string
		table   SklearnTable
		in      string
		wantX   []float32
		wantY   []int32
		wantErr string
	}{
		{"header", iris, "2,2,a,b,c\n1.5,2,0\n-3,4e1,2\n", []float32{1.5, 2, -3, 40}, []int32{0, 2}, ""},
		{"no header", noHead, "1,2,1\n3,4,0\n", []float32{1, 2, 3, 4}, []int32{1, 0}, ""},
		{"crlf and blank lines", iris, "1,2,a,b,c\r\n\r\n5,6,1\r\n", []float32{5, 6}, []int32{1}, ""},
		{"float label", noHead, "1,2,2.0\n", []float32{1, 2}, []int32{2}, ""},
		{"header row count", iris, "3,2,a,b,c\n1,2,0\n", nil, nil, "t.csv: header declares 3 rows, the file has 1"},
		{"header features", iris, "1,5,a,b,c\n1,2,0\n", nil, nil, "t.csv:1: header declares 5 features and 3 classes, want 2 and 3"},
		{"header classes", iris, "1,2,a,b\n1,2,0\n", nil, nil, "declares 2 features and 2 classes"},
		{"header not counts", iris, "n,2,a,b,c\n", nil, nil, "t.csv:1: header \"n,2,a,b,c\" does not start with two counts"},
		{"short row", iris, "1,2,a,b,c\n1,0\n", nil, nil, "t.csv:2: 2 fields, want 2 features and a label"},
		{"bad number", noHead, "1,2,0\n1,x,0\n", nil, nil, "t.csv:2: feature 2 is \"x\", want a finite number"},
		{"nan", noHead, "NaN,2,0\n", nil, nil, "t.csv:1: feature 1 is \"NaN\""},
		{"inf", noHead, "1,inf,0\n", nil, nil, "feature 2 is \"inf\""},
		{"overflow", noHead, "1,1e39,0\n", nil, nil, "feature 2 is \"1e39\""},
		{"label range", noHead, "1,2,3\n", nil, nil, "t.csv:1: label \"3\", want a class in 0..2"},
		{"negative label", noHead, "1,2,-1\n", nil, nil, "label \"-1\""},
		{"empty", iris, "", nil, nil, "empty file"},
		{"no rows", noHead, "\n", nil, nil, "no rows"},
		{"row count", SklearnTable{Name: "t", Features: 2, Classes: 3, Rows: 2}, "1,2,0\n", nil, nil, "1 rows, want 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, zip := range []bool{false, true} {
				b := []byte(tc.in)
				if zip {
					b = gz(t, b)
				}
				s, err := ParseSklearnCSV("t.csv", b, tc.table)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("gzip=%v: err = %v, want %q", zip, err, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("gzip=%v: %v", zip, err)
				}
				if !equalF32(s.X, tc.wantX) || !equalInt32(s.Y, tc.wantY) {
					t.Fatalf("gzip=%v: got %v %v, want %v %v", zip, s.X, s.Y, tc.wantX, tc.wantY)
				}
				if err := s.Check(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseSklearnCSV(f *testing.F) {
	f.Add([]byte("2,2,a,b,c\n1.5,2,0\n-3,4e1,2\n"), true)
	f.Add([]byte("1,2,1\n3,4,0\n"), false)
	f.Add([]byte("1,2,a,b,c\r\n5,6,1.0"), true)
	f.Fuzz(func(t *testing.T, b []byte, header bool) {
		s, err := ParseSklearnCSV("f.csv", b, SklearnTable{Name: "f", Features: 2, Classes: 3, Header: header})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := s.Check(); err != nil {
			t.Fatalf("parsed an inconsistent set: %v", err)
		}
	})
}

func TestSklearnMissingNamesFetchCommand(t *testing.T) {
	t.Setenv("LRKIT_CACHE", t.TempDir())
	_, err := Sklearn("iris")
	if err == nil || !strings.Contains(err.Error(), "`lrkit workloads fetch`") {
		t.Errorf("err = %v, want the fetch command", err)
	}
	if _, err := Sklearn("mnist"); err == nil || !strings.Contains(err.Error(), `no scikit-learn table "mnist"`) {
		t.Errorf("unknown table: err = %v", err)
	}
}

func TestSklearnFromCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LRKIT_CACHE", dir)
	if err := os.MkdirAll(filepath.Join(dir, "sklearn"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sklearn", "iris.csv"), []byte("1,4,a,b,c\n1,2,3,4,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Sklearn("iris"); err == nil || !strings.Contains(err.Error(), "1 rows, want 150") {
		t.Errorf("err = %v, want the row count check", err)
	}
}

// TestSklearnReal reads the four real tables, when `lrkit workloads fetch`
// has unpacked them.
func TestSklearnReal(t *testing.T) {
	dir, err := SklearnDir()
	if err != nil || !sklearnPresent(dir) {
		t.Skipf("scikit-learn tables are not in the cache; run `%s`", FetchCommand)
	}
	counts := map[string][]int{}
	for _, tab := range SklearnTables {
		s, err := Sklearn(tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != tab.Rows || s.D != tab.Features {
			t.Errorf("%s: %d×%d, want %d×%d", tab.Name, s.Len(), s.D, tab.Rows, tab.Features)
		}
		c := make([]int, tab.Classes)
		for _, y := range s.Y {
			c[y]++
		}
		counts[tab.Name] = c
		if tab.Name == "iris" && !equalF32(s.Row(0), []float32{5.1, 3.5, 1.4, 0.2}) {
			t.Errorf("iris row 0 = %v, want 5.1 3.5 1.4 0.2", s.Row(0))
		}
	}
	// Class sizes from scikit-learn's documentation of each data set.
	want := map[string][]int{
		"iris":          {50, 50, 50},
		"wine":          {59, 71, 48},
		"breast-cancer": {212, 357},
	}
	for name, w := range want {
		if !equalInts(counts[name], w) {
			t.Errorf("%s class sizes %v, want %v", name, counts[name], w)
		}
	}
	sum := 0
	for _, c := range counts["digits"] {
		sum += c
		if c < 170 || c > 190 {
			t.Errorf("digits class sizes %v, want about 180 each", counts["digits"])
		}
	}
}
