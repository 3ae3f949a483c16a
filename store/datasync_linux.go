package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync writes f's data to the disk: fdatasync(2), which skips the
// inode's times when the size is unchanged (a WAL written again from its
// beginning).
func datasync(f *os.File) error {
	return unix.Fdatasync(int(f.Fd()))
}
