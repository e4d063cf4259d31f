package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// origin records where a config's values came from, so that messages name
// what the operator wrote.
type origin struct {
	// file is the config file, "" when there is none.
	file string
	// set holds the key paths the file gives a value.
	set map[string]bool
	// bad holds the key paths whose value the file gives wrongly (already
	// reported, so validation says nothing more about them).
	bad map[string]bool
	// written maps each path key the file set relatively to the value as
	// written (before it was made relative to the file's directory).
	written map[string]string
	// idFlag reports that --node-id chose the node id.
	idFlag bool
}

// Load reads the config file at path and parses it over the defaults.
// Relative paths in it (node.data_dir, security.keyring, tls_cert, tls_key,
// tls_ca, peer_ca) are made relative to the file's directory. A file that cannot be
// read, is a directory or holds no keys is an error; otherwise the error
// lists every unknown key and malformed value, and the config returned
// still holds everything else the file says.
func Load(path string) (Config, error) {
	c, err := parseFile(path)
	if pe, ok := errors.AsType[*parseError](err); ok {
		return c, fmt.Errorf("config file %s:\n%w", path, pe.err)
	}
	return c, err
}

// parseError is a config file's problems of keys and values, apart from
// failing to read it: the config parsed with them is still worth
// validating, so the operator sees every problem at once.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// parseFile reads and parses the file at path over the defaults, making
// its relative paths relative to its directory. A *parseError leaves the
// config usable.
func parseFile(path string) (Config, error) {
	src, err := readFile(path)
	if err != nil {
		return Default(), err
	}
	c, err := Parse(src)
	c.from.file = path
	c.rebase(filepath.Dir(path))
	if err != nil {
		return c, &parseError{err}
	}
	return c, nil
}

// readFile reads a config file, refusing a directory and a file without
// keys (an empty file is more likely a mistake than a wish for the
// defaults, which running without --config gives).
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, pathError(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("config file %s is a directory, not a file", path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, pathError(err))
	}
	var probe Config
	if _, empty, err := decodeStrict(src, &probe); err == nil && empty {
		return nil, fmt.Errorf("config file %s has no settings (it is empty or only comments); leave out --config to run on the embedded defaults", path)
	}
	return src, nil
}

// pathError strips the operation and path an *fs.PathError repeats.
func pathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// pathKeys lists the keys whose values are file system paths.
func (c *Config) pathKeys() []struct {
	key string
	v   *string
} {
	return []struct {
		key string
		v   *string
	}{
		{"node.data_dir", &c.Node.DataDir},
		{"security.keyring", &c.Security.Keyring},
		{"security.tls_cert", &c.Security.TLSCert},
		{"security.tls_key", &c.Security.TLSKey},
		{"security.tls_ca", &c.Security.TLSCA},
		{"security.peer_ca", &c.Security.PeerCA},
		{"security.producer_key_file", &c.Security.ProducerKeyFile},
	}
}

// rebase makes the relative paths the file set relative to dir, the file's
// directory, remembering what was written for messages.
func (c *Config) rebase(dir string) {
	for _, p := range c.pathKeys() {
		if !c.from.set[p.key] || *p.v == "" || filepath.IsAbs(*p.v) {
			continue
		}
		if c.from.written == nil {
			c.from.written = map[string]string{}
		}
		c.from.written[p.key] = *p.v
		*p.v = filepath.Join(dir, *p.v)
	}
}

// pathNote explains, for a message about the path at key, that it was
// made relative to the config file's directory; "" if it was not.
func (c *Config) pathNote(key string) string {
	w, ok := c.from.written[key]
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (%q in %s, relative to the file's directory)", w, c.from.file)
}

// decodeFailed reports whether the value at path, or a mapping or list it
// is part of, could not be decoded.
func (o origin) decodeFailed(path string) bool {
	for {
		if o.bad[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return false
		}
		path = path[:i]
	}
}
