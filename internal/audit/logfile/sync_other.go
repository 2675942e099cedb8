//go:build !linux

package logfile

import "os"

// syncData makes f's written data durable (fsync where fdatasync is not
// offered).
func syncData(f *os.File) error { return f.Sync() }
