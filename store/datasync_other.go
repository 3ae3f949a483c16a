//go:build !linux

package store

import "os"

// datasync writes f's data to the disk (fsync(2) or the system's own).
func datasync(f *os.File) error {
	return f.Sync()
}
