package demo

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// captured is one notification body MinIO sent, with the events it carried.
type captured struct {
	body   []byte
	events []envelope.Event
}

// proxy sits between MinIO and the forwarder: it records every notification for the input
// bucket (so the demo can later resend some as duplicates or stale events) and passes the
// forwarder's answer back, so MinIO retries whatever the forwarder refused.
type proxy struct {
	target     string // forwarder webhook URL
	token      string // sent to the forwarder
	minioToken string // required of MinIO's requests; empty: not checked
	bucket     string // only notifications of this bucket are forwarded

	mu       sync.Mutex
	bodies   []captured
	events   int
	foreign  int
	failures int
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, ok := hookproxy.Receive(w, r, p.minioToken, p.bucket)
	if n.Foreign {
		p.mu.Lock()
		p.foreign++
		p.mu.Unlock()
	}
	if !ok {
		return
	}
	body := n.Body
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.mu.Lock()
		p.failures++
		p.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 {
		p.mu.Lock()
		p.bodies = append(p.bodies, captured{body: body, events: n.Events})
		p.events += len(n.Events)
		p.mu.Unlock()
	} else {
		p.mu.Lock()
		p.failures++
		p.mu.Unlock()
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (p *proxy) snapshot() ([]captured, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]captured(nil), p.bodies...), p.events
}
