package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/conf"
	"github.com/swarmmq/swarmmq/stages"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// testOptions are a node's options on 127.0.0.1:0 with data in dir.
func testOptions(dir string) stages.Options {
	return stages.Options{ClientAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: dir, Partitions: 2,
		MinFree: -1, Logger: discard}
}

// serveAsync runs serve in the background and returns once the node
// serves; the returned function (also called at the end of the test)
// stops it.
func serveAsync(t *testing.T, opts stages.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- serve(ctx, opts, discard, func(*stages.Node) { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestServeStartsAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	serveAsync(t, testOptions(dir))
	_, err := os.Stat(filepath.Join(dir, "LOCK"))
	require.NoError(t, err)
}

// TestServeDataDirHeld: a node on a data directory another process holds
// is told so, and the directory is left alone. The other process is this
// test binary again, running TestHelperHoldLock, which holds the lock the
// way Pebble does (a POSIX record lock on LOCK: a lock of this process
// would not stop Pebble in this process).
func TestServeDataDirHeld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	serveAsync(t, testOptions(dir))() // makes the log

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "SWARMMQ_TEST_HOLD_LOCK="+filepath.Join(dir, "LOCK"))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	err = serve(context.Background(), testOptions(dir), discard, nil)
	require.ErrorContains(t, err, "the data directory "+dir+" is in use by another process (a node running on it "+
		"holds its LOCK file): stop that node, or give this one its own --data-dir")
	_, err = os.Stat(filepath.Join(dir, "LOCK"))
	require.NoError(t, err)
}

// TestHelperHoldLock holds a write lock on the file SWARMMQ_TEST_HOLD_LOCK
// names until its stdin closes; it does nothing without it.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv("SWARMMQ_TEST_HOLD_LOCK")
	if path == "" {
		t.Skip("a helper of TestServeDataDirHeld")
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	require.NoError(t, syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk))
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestServeAddrTaken: a taken port is named by its flag, and the start
// creates no data directory.
func TestServeAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	taken := ln.Addr().String()

	parent := filepath.Join(t.TempDir(), "new")
	opts := testOptions(filepath.Join(parent, "data"))
	opts.HTTPAddr = taken
	err = serve(context.Background(), opts, discard, nil)
	require.EqualError(t, err, fmt.Sprintf("admin HTTP address: listen tcp %s: bind: address already in use "+
		"(set it with --http-addr or node.http_addr, or turn it off with --http-addr off; is another node running?)", taken))
	require.NoDirExists(t, parent)

	opts = testOptions(filepath.Join(parent, "data"))
	opts.ClientAddr = taken
	err = serve(context.Background(), opts, discard, nil)
	require.ErrorContains(t, err, "client port: listen tcp "+taken+": bind: address already in use (set it with --port")
	require.NoDirExists(t, parent)
}

// TestFailedStartRemovesNewDir: a start that fails after creating the
// data directory removes what it created, and nothing else; not when
// another process holds the directory, nor after a failure on the admin
// HTTP address (clients could already publish).
func TestFailedStartRemovesNewDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "data")
	created, err := makeDataDir(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(base, "a"), created)
	require.DirExists(t, dir)
	again, err := makeDataDir(dir)
	require.NoError(t, err)
	require.Empty(t, again, "an existing directory is not this start's")

	opts := testOptions(dir)
	opts.HTTPAddr = "127.0.0.1:18080"
	held := fmt.Errorf("cannot open the log: %w", syscall.EWOULDBLOCK)
	require.ErrorContains(t, startFailed(held, opts, created, discard), "in use by another process")
	require.DirExists(t, dir)
	httpErr := fmt.Errorf("x: %w", &net.OpError{Op: "listen", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18080}, Err: syscall.EADDRINUSE})
	require.ErrorIs(t, startFailed(httpErr, opts, created, discard), syscall.EADDRINUSE)
	require.DirExists(t, dir)

	other := errors.New("cannot start stage")
	require.Equal(t, other, startFailed(other, opts, created, discard))
	require.NoDirExists(t, created)
	require.DirExists(t, base)
}

func TestVersion(t *testing.T) {
	var flags conf.NodeFlags
	var out bytes.Buffer
	exited := -1
	p, err := kong.New(&flags, append(parserOptions(), kong.Writers(&out, &out), kong.Exit(func(c int) { exited = c }))...)
	require.NoError(t, err)
	_, _ = p.Parse([]string{"--version"})
	require.Equal(t, 0, exited)
	require.Regexp(t, `^node \S+ \(commit \S+(, modified)?, go1\.\d+\S*\)\n$`, out.String())
}
