//go:build !linux

package threadprio

func lower(int) error { return ErrUnsupported }
