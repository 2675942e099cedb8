// Package logfile is the audit trail's JSON-lines file: appended to and
// synced (fdatasync) a group commit at a time, private (0600), and never
// left with a partial line in front of later records.
package logfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// File is an open audit file. Its methods are for one goroutine at a time
// (the trail's writer; catch-up runs before the writer starts).
type File struct {
	f    *os.File
	size int64 // the file's length: the end of its last whole line
}

// Open opens (appending, 0600; its directory 0700) the file at path. A
// partial last line (a write cut by a crash, never acknowledged) is cut off.
func Open(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	size, err := cutPartialLine(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit file: %w", err)
	}
	return &File{f: f, size: size}, nil
}

// Append writes buf (whole lines) and syncs it (syncData); on failure it
// cuts the file back so a partial line never stays in front of later
// records.
func (f *File) Append(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	_, err := f.f.Write(buf)
	if err == nil {
		err = syncData(f.f)
	}
	if err != nil {
		f.f.Truncate(f.size)
		return err
	}
	f.size += int64(len(buf))
	return nil
}

// Size is the file's length (every line in it is whole and synced).
func (f *File) Size() int64 { return f.size }

// Name is the file's path.
func (f *File) Name() string { return f.f.Name() }

// From reads the file from offset at up to its current length.
func (f *File) From(at int64) io.Reader { return io.NewSectionReader(f.f, at, f.size-at) }

// Inode identifies the file across restarts (0 where there are no inodes).
func (f *File) Inode() uint64 {
	fi, err := f.f.Stat()
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// cutPartialLine truncates f after its last newline and returns its new
// length. Only a crash in the middle of Append leaves a partial line, and
// no Write returned for it.
func cutPartialLine(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	buf := make([]byte, 4096)
	for at := end; at > 0; {
		n := int64(len(buf))
		if at < n {
			n = at
		}
		at -= n
		if _, err := f.ReadAt(buf[:n], at); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep := at + int64(i) + 1
			if keep < end {
				return keep, f.Truncate(keep)
			}
			return end, nil
		}
	}
	if end > 0 {
		return 0, f.Truncate(0)
	}
	return 0, nil
}
