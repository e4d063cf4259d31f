package e2e

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// slowSyncFS gives every fsync of the file system it wraps a latency, as a
// real disk has. On an in-memory file system a sync takes microseconds, so
// a bug that acknowledges before the sync (or without one) would almost
// never leave an acknowledged write unsynced at the moment of a simulated
// crash; with the latency it does. The sleep models the disk, it does not
// synchronise anything. Safe for concurrent use if the wrapped FS is.
type slowSyncFS struct {
	vfs.FS
	delay time.Duration
}

// Create implements vfs.FS.
func (fs *slowSyncFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, category))
}

// ReuseForWrite implements vfs.FS; Pebble recycles WAL files with it.
func (fs *slowSyncFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, category))
}

// OpenReadWrite implements vfs.FS.
func (fs *slowSyncFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, category, opts...))
}

// OpenDir implements vfs.FS; a directory is synced to make the files
// created in it durable.
func (fs *slowSyncFS) OpenDir(name string) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenDir(name))
}

// Unwrap implements vfs.FS.
func (fs *slowSyncFS) Unwrap() vfs.FS { return fs.FS }

func (fs *slowSyncFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil || fs.delay <= 0 {
		return f, err
	}
	return &slowSyncFile{File: f, delay: fs.delay}, nil
}

// slowSyncFile delays each sync of the file it wraps.
type slowSyncFile struct {
	vfs.File
	delay time.Duration
}

// Sync implements vfs.File.
func (f *slowSyncFile) Sync() error {
	time.Sleep(f.delay)
	return f.File.Sync()
}

// SyncData implements vfs.File.
func (f *slowSyncFile) SyncData() error {
	time.Sleep(f.delay)
	return f.File.SyncData()
}

// SyncTo implements vfs.File.
func (f *slowSyncFile) SyncTo(length int64) (bool, error) {
	time.Sleep(f.delay)
	return f.File.SyncTo(length)
}
