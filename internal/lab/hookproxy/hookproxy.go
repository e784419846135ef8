// Package hookproxy is the receiving half of the lab's webhook proxies, which sit between MinIO
// and the forwarder (the demo's recorder and the chaos harness's fault injector): it checks
// MinIO's token, reads the notification and tells the proxy's own bucket from others.
package hookproxy

import (
	"io"
	"net/http"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/notification"
)

// maxBody bounds a notification body.
const maxBody = 16 << 20

// Notification is one request MinIO posted.
type Notification struct {
	Body []byte
	// Events are the events Body carries; none when it does not parse (the forwarder decides
	// what to do with it).
	Events []envelope.Event
	// Foreign is set when the events are of another bucket than the proxy's: left over in
	// MinIO's queue from an earlier run.
	Foreign bool
}

// Receive reads the notification of r. It answers the request itself, and returns false, when
// the token is wrong (401 when minioToken is set and does not match), the body cannot be read
// (400) or the events are of another bucket than bucket (200: MinIO drops it; n.Foreign says
// so). Otherwise the caller answers.
func Receive(w http.ResponseWriter, r *http.Request, minioToken, bucket string) (n Notification, ok bool) {
	if minioToken != "" && !forwarder.TokenMatches(r.Header.Get("Authorization"), minioToken) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return Notification{}, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return Notification{}, false
	}
	n.Body = body
	res, err := notification.Parse(body)
	if err != nil {
		return n, true
	}
	n.Events = res.Events
	if len(res.Events) > 0 && res.Events[0].Bucket != bucket {
		n.Foreign = true
		w.WriteHeader(http.StatusOK)
		return n, false
	}
	return n, true
}
