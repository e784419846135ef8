package telemetry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serve starts cfg's server on a free loopback port and returns its address; the server stops
// when the test ends.
func serve(t *testing.T, cfg ServerConfig, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cfg.ServeListener(ctx, ln, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one keep-alive GET on c and reads the answer, waiting at most wait.
func get(c net.Conn, br *bufio.Reader, path string, wait time.Duration) (int, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0, err
	}
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })

// TestIdleKeepAliveConnectionIsClosed: a client that keeps a connection open without sending a
// new request is disconnected after IdleTimeout. The connection is reused once first, so the
// close is the idle timeout and not a server that does no keep-alive.
func TestIdleKeepAliveConnectionIsClosed(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr := serve(t, ServerConfig{IdleTimeout: idle}, okHandler)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 2 {
		if code, err := get(c, br, "/", 5*time.Second); err != nil || code != 200 {
			t.Fatalf("request %d on one connection: %d %v", i, code, err)
		}
	}
	start := time.Now()
	// Wait (bounded) for the server to close the idle connection: Read returns EOF when it does,
	// a timeout error if the deadline passes first.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := br.ReadByte()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d < idle/2 {
		t.Errorf("closed after %v, before the idle timeout %v", d, idle)
	}
}

// TestSlowHeadersAreCut: a client that sends its request headers slower than ReadHeaderTimeout
// (slowloris) is disconnected.
func TestSlowHeadersAreCut(t *testing.T) {
	addr := serve(t, ServerConfig{ReadHeaderTimeout: 200 * time.Millisecond}, okHandler)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("connection with unfinished headers not closed: %v (read %q)", err, b)
	}
	if strings.Contains(string(b), "200 OK") {
		t.Fatalf("unfinished request answered: %q", b)
	}
}

// TestMaxConnsBoundsConcurrentConnections: with MaxConns 1, a second client is not served while
// the first holds its connection, and is served as soon as the first closes it.
func TestMaxConnsBoundsConcurrentConnections(t *testing.T) {
	addr := serve(t, ServerConfig{MaxConns: 1}, okHandler)
	first := dial(t, addr)
	firstBR := bufio.NewReader(first)
	if code, err := get(first, firstBR, "/", 5*time.Second); err != nil || code != 200 {
		t.Fatalf("first client: %d %v", code, err)
	}
	second := dial(t, addr) // the kernel completes the handshake; the server does not accept it
	secondBR := bufio.NewReader(second)
	_, err := get(second, secondBR, "/", 300*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second client served while the first holds the only slot: %v", err)
	}
	first.Close()
	if err := second.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(secondBR, nil)
	if err != nil {
		t.Fatalf("second client not served after the first left: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("second client: %d", resp.StatusCode)
	}
}

func TestServerConfig(t *testing.T) {
	srv := ServerConfig{}.server(okHandler)
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.ReadTimeout != DefaultReadTimeout ||
		srv.WriteTimeout != DefaultWriteTimeout || srv.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("defaults not applied: %+v", srv)
	}
	srv = ServerConfig{ReadHeaderTimeout: 1, ReadTimeout: 2, WriteTimeout: 3, IdleTimeout: 4}.server(okHandler)
	if srv.ReadHeaderTimeout != 1 || srv.ReadTimeout != 2 || srv.WriteTimeout != 3 || srv.IdleTimeout != 4 {
		t.Errorf("fields not applied: %+v", srv)
	}
	if err := (ServerConfig{IdleTimeout: -1, MaxConns: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "IdleTimeout") || !strings.Contains(err.Error(), "MaxConns") {
		t.Errorf("Validate = %v, want both fields named", err)
	}
}

// TestLimitListenerCloseWakesAccept: closing the listener releases an Accept waiting for a slot.
func TestLimitListenerCloseWakesAccept(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 1)
	_ = dial(t, inner.Addr().String())
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := ln.Accept() // waits: the only slot is taken
		errc <- err
	}()
	ln.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}
