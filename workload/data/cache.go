package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// FetchCommand is the lrkit command that puts the data sets which need a
// one-time preparation (scikit-learn's tables, the KJV text) in the cache
// directory.
const FetchCommand = "lrkit workloads fetch"

// CacheDir returns the directory where lrkit keeps prepared data sets:
// $LRKIT_CACHE if set, else lrkit/ under the user cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux).
func CacheDir() (string, error) {
	if d := os.Getenv("LRKIT_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("lrkit cache directory: %w (set LRKIT_CACHE)", err)
	}
	return filepath.Join(d, "lrkit"), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader never sees a partial file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
