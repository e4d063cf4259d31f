package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/swarmmq/swarmmq/stages"
)

// serve starts a node on opts, calls started (if not nil) once it serves,
// and stops it when ctx ends. A start that fails says which setting to
// change when it can (a port taken, a data directory another node holds),
// and removes the data directory if this start created it.
func serve(ctx context.Context, opts stages.Options, logger *slog.Logger, started func(*stages.Node)) error {
	n, err := stages.New(opts)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := checkAddrs(opts); err != nil {
		return err
	}
	created := ""
	if opts.FS == nil {
		if created, err = makeDataDir(opts.DataDir); err != nil {
			return fmt.Errorf("cannot create the data directory %s: %w", opts.DataDir, err)
		}
	}
	if err := n.Start(); err != nil {
		return startFailed(err, opts, created, logger)
	}
	if a := n.HTTPAddr(); a != nil {
		logger.Info("admin HTTP", "addr", a.String())
	}
	if started != nil {
		started(n)
	}
	<-ctx.Done()
	logger.Info("stopping")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), stopTimeout)
	defer stopCancel()
	if err := n.Stop(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("unclean stop: %w", err)
	}
	return nil
}

// checkAddrs tells, before anything is opened, whether a listen address
// is taken, naming the setting to change. (The listeners are opened later:
// one taken in between still fails the start, with the plain error.)
func checkAddrs(opts stages.Options) error {
	check := func(addr, what, how string) error {
		if addr == "" || addr == "off" {
			return nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				how += "; is another node running?"
			}
			return fmt.Errorf("%s: %w (%s)", what, err, how)
		}
		return ln.Close()
	}
	return errors.Join(
		check(opts.ClientAddr, "client port", "set it with --port and --bind, or node.port"),
		check(opts.PlainAddr, "plaintext client port", "set it with node.plain_port"),
		check(opts.HTTPAddr, "admin HTTP address", "set it with --http-addr or node.http_addr, or turn it off with --http-addr off"))
}

// makeDataDir creates dir if it is missing and returns the topmost
// directory it created, or "" if dir existed (or another process created
// it first: os.Mkdir of that directory decides who did).
func makeDataDir(dir string) (string, error) {
	top := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return "", nil
	}
	if err := os.Mkdir(top, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", os.MkdirAll(dir, 0o755)
		}
		return "", err
	}
	return top, os.MkdirAll(dir, 0o755)
}

// startFailed explains a failed start and removes created (the data
// directory this start made, or its topmost new parent), unless the start
// failed on the admin HTTP address: the client port was already open then,
// so a message may have been stored. A directory another process holds is
// never removed.
func startFailed(err error, opts stages.Options, created string, logger *slog.Logger) error {
	held := errors.Is(err, syscall.EWOULDBLOCK)
	if held {
		err = fmt.Errorf("the data directory %s is in use by another process (a node running on it holds its LOCK "+
			"file): stop that node, or give this one its own --data-dir: %w", opts.DataDir, err)
	}
	if created == "" || held || listenFailed(err, opts.HTTPAddr) {
		return err
	}
	if rerr := os.RemoveAll(created); rerr != nil {
		logger.Warn("cannot remove the data directory this start created", "dir", created, "err", rerr)
	} else {
		logger.Info("removed the data directory this start created", "dir", created)
	}
	return err
}

// listenFailed reports whether err is a failure to listen on addr.
func listenFailed(err error, addr string) bool {
	var oe *net.OpError
	if addr == "" || !errors.As(err, &oe) || oe.Op != "listen" || oe.Addr == nil {
		return false
	}
	return oe.Addr.String() == addr
}
