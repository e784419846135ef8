// Package proc starts and controls shardline subprocesses for the demo and the chaos harness:
// start with a log file, wait until ready, stop gracefully, kill, pause and resume.
package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is one subprocess with its output in a log file.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	LogPath string
	done    chan error
}

// Start runs binary with args, logging to logDir/<prefix><name>.log, in this process's
// environment.
func Start(binary, logDir, prefix, name string, args ...string) (*Process, error) {
	return StartEnv(binary, logDir, prefix, name, nil, args...)
}

// StartEnv is Start with env ("NAME=value" entries) added to this process's environment; an
// entry replaces a variable of the same name (the chaos harness points AWS_ENDPOINT_URL_* at
// its fault proxies this way).
func StartEnv(binary, logDir, prefix, name string, env []string, args ...string) (*Process, error) {
	logPath := filepath.Join(logDir, prefix+name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...) // exec uses the last value of a duplicated name
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, LogPath: logPath, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logFile.Close()
	}()
	return p, nil
}

// Stop sends SIGTERM and waits up to timeout, then kills.
func (p *Process) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("%s exited: %w (log: %s)", p.Name, err, p.LogPath)
		}
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s after SIGTERM (log: %s)", p.Name, timeout, p.LogPath)
	}
}

// WaitReady polls url until it answers 200, the process exits, or timeout passes.
func (p *Process) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited before it was ready: %v (log: %s)", p.Name, err, p.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s within %s (log: %s)", p.Name, url, timeout, p.LogPath)
		}
	}
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a stopped process is killed just the same; be sure
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// Pause sends SIGSTOP; Resume sends SIGCONT.
func (p *Process) Pause() error { return p.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Process) Resume() error { return p.cmd.Process.Signal(syscall.SIGCONT) }

// Exited reports whether the process has exited, and its error.
func (p *Process) Exited() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

// PostJSON posts a notification body to a forwarder's webhook with token as Bearer credentials
// (none when empty) and returns an error unless it answered 2xx (the error carries the start of
// the answer).
func PostJSON(ctx context.Context, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("forwarder answered %s: %s", resp.Status, msg)
	}
	return nil
}

// NewToken returns a random webhook token (64 hex digits) for a harness's own forwarder.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// ShardlinePackage is the import path of the production binary's main package.
const ShardlinePackage = "github.com/shardline/shardline/cmd/shardline"

// Build compiles the main package pkg, an import path of this module (so it works from any
// directory inside the module), to the executable out.
func Build(ctx context.Context, pkg, out string) error {
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, b)
	}
	return nil
}
