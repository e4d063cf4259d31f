package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a node running as a process of its own, on 127.0.0.1 with a
// free port, on a data directory of its own.
type Process struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
}

var startedRE = regexp.MustCompile(`msg="node started".* addr=(\S+)`)

// StartNode runs the node binary bin in dir (a fresh directory) with the
// configuration cfg (the keys of the node's YAML file; relative paths under
// security are relative to scenarios), and waits until it listens.
func StartNode(bin, dir, scenarios string, cfg map[string]any) (*Process, error) {
	args := []string{"--data-dir", filepath.Join(dir, "data"), "--port", "0", "--http-addr", "off"}
	if len(cfg) > 0 {
		cfg = resolvePaths(cfg, scenarios)
		b, err := json.Marshal(cfg) // JSON is YAML
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--config", path)
	}
	p := &Process{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := startedRE.FindStringSubmatch(line); m != nil {
				select {
				case started <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = p.cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	select {
	case p.addr = <-started:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("node exited at start:\n%s", p.Log())
	case <-time.After(20 * time.Second):
		p.Kill()
		return nil, fmt.Errorf("%w within 20s:\n%s", errNoAddr, p.Log())
	}
}

// resolvePaths makes the relative paths under security absolute.
func resolvePaths(cfg map[string]any, dir string) map[string]any {
	sec, ok := cfg["security"].(map[string]any)
	if !ok {
		return cfg
	}
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	abs := map[string]any{}
	for k, v := range sec {
		if s, ok := v.(string); ok && s != "" && !filepath.IsAbs(s) {
			if d, err := filepath.Abs(dir); err == nil {
				v = filepath.Join(d, s)
			}
		}
		abs[k] = v
	}
	out["security"] = abs
	return out
}

// Addr is the node's client address.
func (p *Process) Addr() string { return p.addr }

// Stop sends SIGTERM and returns at once.
func (p *Process) Stop() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// Kill ends the process and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Log is what the node wrote to standard error so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}
