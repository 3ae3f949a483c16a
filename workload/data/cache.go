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
