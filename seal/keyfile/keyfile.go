package keyfile

import (
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/swarmmq/swarmmq/seal"
)

// Mode is the file mode of a keyring file: read and write for its owner
// only. Read warns about any wider mode; Generate creates files with it.
const Mode fs.FileMode = 0o600

// FirstKeyID is the id of the key Generate writes.
const FirstKeyID = 1

// Read reads and parses the keyring file at path. warnings lists what is
// legal but unsafe, for the caller to log or print: today, a mode wider
// than Mode (on systems with Unix permissions). The error says which
// file; a keyring problem is marked seal.ErrInvalidKeyring and a missing
// file fs.ErrNotExist.
func Read(path string) (kr *seal.Keyring, warnings []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open keyring: %w", err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot stat keyring: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("keyring %s is not a regular file", path)
	}
	if w := modeWarning(path, fi.Mode()); w != "" {
		warnings = append(warnings, w)
	}
	b, err := io.ReadAll(io.LimitReader(f, seal.MaxKeyringSize+1))
	if err != nil {
		return nil, warnings, fmt.Errorf("cannot read keyring: %w", err)
	}
	defer clear(b)
	kr, err = seal.ParseKeyring(b)
	if err != nil {
		return nil, warnings, fmt.Errorf("keyring %s: %w", path, err)
	}
	return kr, warnings, nil
}

// modeWarning returns the warning for a keyring file of mode m, or "".
func modeWarning(path string, m fs.FileMode) string {
	if runtime.GOOS == "windows" || m.Perm()&^Mode == 0 {
		return ""
	}
	return fmt.Sprintf("keyring %s has mode %#o, wider than %#o: it holds secret keys; run chmod %o %s",
		path, m.Perm(), Mode, Mode, path)
}

// Generate writes a new keyring file at path holding one fresh key (id
// FirstKeyID, 32 bytes from crypto/rand), current, with mode Mode. It
// refuses to overwrite anything already at path, a dangling symbolic link
// included (the error then wraps fs.ErrExist), and removes what it
// created if it fails half way.
func Generate(path string) error {
	key, err := seal.NewKey(FirstKeyID, rand.Reader)
	if err != nil {
		return err
	}
	kr, err := seal.NewKeyring(key.ID, key)
	clear(key.Secret[:])
	if err != nil {
		return err
	}
	data := kr.AppendFile(nil)
	defer clear(data)
	return create(path, data)
}

// create writes data to a new file at path with mode Mode and syncs it and
// its directory.
func create(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, Mode)
	if err != nil {
		return fmt.Errorf("cannot create keyring: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	// The umask can only narrow the mode; Chmod makes it exact.
	if err := f.Chmod(Mode); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("cannot set keyring mode: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write keyring: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync keyring: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot close keyring: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a new directory entry durable where the system allows it;
// failing to is not an error (some systems cannot sync directories).
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
