package forwarder

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/notification"
)

// HealthPath answers GET and HEAD with 200 while the process is up.
const HealthPath = "/healthz"

// Webhook is the http.Handler that receives notifications: it accepts them POSTed to any path but
// HealthPath (MinIO and other S3-compatible servers, or an SNS HTTP subscription) and answers 200
// only after their events are in the stream.
//
// Responses: 200 {"forwarded":N,"skipped":M,"refused":R} (R, events for a bucket off the
// allow-list or with an invalid name, only when not zero); 400 a body that is not a notification
// (a resend cannot fix it); 401 a missing or wrong token (nothing is read or written); 403 (or
// 400, 503) an SNS message that fails verification, with the reason; 405 not a POST; 408
// a body not received within the read timeout; 413 a body over the limit; 415 a Content-Type
// other than application/json, text/plain (SNS) or none; 503 the events did not all reach the stream (the sender should retry); 500 an event that
// can never be put (invalid or oversize) or a parser failure other than a malformed body, which
// are bugs to look at, not reasons to drop the notification. Errors are a JSON object
// {"error": "..."}. Skips are counted by reason and logged; they do not fail the request.
//
// MinIO's webhook target sends its auth_token as "Authorization: Bearer <token>". An SNS HTTP(S)
// subscription cannot send a bearer token; its messages (requests with the x-amz-sns-message-type
// header) are authenticated by their signature instead, and every SNS-shaped body (a top-level
// "Type") must carry a valid signature from an allow-listed topic, token or not (see SNSConfig).
// EventBridge-shaped bodies carry no signature: only the token authenticates them.
type Webhook struct{ f *Forwarder }

// Webhook returns the webhook of f.
func (f *Forwarder) Webhook() *Webhook { return &Webhook{f: f} }

// ServeHTTP implements http.Handler.
func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath {
		wh.health(w, r)
		return
	}
	f := wh.f
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		wh.fail(w, r, http.StatusMethodNotAllowed, resultMethodNotAllowed, "method not allowed")
		return
	}
	tokenOK := f.authorized(r.Header.Get("Authorization"))
	snsHeader := r.Header.Get(SNSMessageTypeHeader) != ""
	if !tokenOK && !(snsHeader && f.sns.enabled()) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shardline-forwarder"`)
		wh.fail(w, r, http.StatusUnauthorized, resultUnauthorized, "unauthorized")
		return
	}
	if !acceptedContentType(r.Header.Get("Content-Type")) {
		wh.fail(w, r, http.StatusUnsupportedMediaType, resultUnsupportedType, "content type must be application/json or text/plain")
		return
	}
	if r.ContentLength > f.maxBody {
		wh.fail(w, r, http.StatusRequestEntityTooLarge, resultTooLarge, "body too large")
		return
	}
	// Servers without a ReadTimeout would otherwise wait for a trickled body forever; where the
	// connection does not support deadlines (tests' recorders) the error is ignored.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(f.readFor))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			wh.fail(w, r, http.StatusRequestEntityTooLarge, resultTooLarge, "body too large")
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			wh.fail(w, r, http.StatusRequestTimeout, resultReadTimeout, "body not received in time")
			return
		}
		wh.fail(w, r, http.StatusBadRequest, resultReadFailed, "cannot read body")
		return
	}
	// Anything SNS-shaped must carry a valid SNS signature, whether or not the token matched: the
	// token proves who posted, not that SNS published what the body claims.
	if snsHeader || snsShaped(body) {
		wh.serveSNS(w, r, body)
		return
	}
	wh.forward(w, r, body)
}

// forward parses a notification body, writes its events and answers.
func (wh *Webhook) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	f := wh.f
	res, err := f.parse(body)
	if err != nil {
		if errors.Is(err, notification.ErrMalformed) {
			f.metrics.malformed.Inc()
			f.log.LogAttrs(r.Context(), slog.LevelWarn, "malformed notification",
				slog.Int("bytes", len(body)), slog.Any("error", err))
			wh.fail(w, r, http.StatusBadRequest, resultMalformed, "malformed notification")
			return
		}
		f.log.LogAttrs(r.Context(), slog.LevelError, "parse notification",
			slog.Int("bytes", len(body)), slog.Any("error", err))
		wh.fail(w, r, http.StatusInternalServerError, resultParseFailed, "cannot parse notification")
		return
	}
	refused, err := f.deliver(r.Context(), res)
	if err != nil {
		if neverPuttable(err) {
			wh.fail(w, r, http.StatusInternalServerError, resultWriteFailed, "event cannot be forwarded")
			return
		}
		w.Header().Set("Retry-After", "1")
		wh.fail(w, r, http.StatusServiceUnavailable, resultWriteFailed, "events not forwarded, retry")
		return
	}
	f.metrics.requests.WithLabelValues(resultForwarded).Inc()
	writeJSON(w, http.StatusOK, struct {
		Forwarded int `json:"forwarded"`
		Skipped   int `json:"skipped"`
		Refused   int `json:"refused,omitempty"`
	}{len(res.Events) - refused, len(res.Skipped), refused})
}

// serveSNS authenticates an SNS message and handles it by type: a Notification's Message is
// forwarded like any other body; a SubscriptionConfirmation is confirmed by visiting its
// SubscribeURL (and logged, so the operator can confirm by hand if that fails); an
// UnsubscribeConfirmation is logged.
func (wh *Webhook) serveSNS(w http.ResponseWriter, r *http.Request, body []byte) {
	f := wh.f
	m, rej := f.sns.verify(r.Context(), body)
	if rej == nil && m.Type == snsSubscriptionConfirmation {
		f.log.LogAttrs(r.Context(), slog.LevelWarn, "SNS subscription confirmation",
			slog.String("topic", m.TopicArn), slog.String("subscribe_url", m.SubscribeURL))
		rej = f.sns.confirm(r.Context(), m)
	}
	if rej != nil {
		f.metrics.snsRejected.WithLabelValues(rej.reason).Inc()
		f.log.LogAttrs(r.Context(), slog.LevelWarn, "SNS message rejected",
			slog.String("reason", rej.reason), slog.String("error", rej.Error()),
			slog.String("remote", r.RemoteAddr))
		wh.fail(w, r, snsRejectStatus(rej.reason), resultSNSRejected, "SNS message rejected ("+rej.reason+"): "+rej.msg)
		return
	}
	f.metrics.snsVerified.WithLabelValues(m.Type).Inc()
	switch m.Type {
	case snsNotification:
		wh.forward(w, r, []byte(*m.Message))
	case snsSubscriptionConfirmation:
		f.log.LogAttrs(r.Context(), slog.LevelInfo, "SNS subscription confirmed", slog.String("topic", m.TopicArn))
		f.metrics.requests.WithLabelValues(resultSNSControl).Inc()
		writeJSON(w, http.StatusOK, struct {
			Confirmed bool `json:"confirmed"`
		}{true})
	default: // UnsubscribeConfirmation: nothing to do but tell the operator
		f.log.LogAttrs(r.Context(), slog.LevelWarn, "SNS unsubscribe confirmation",
			slog.String("topic", m.TopicArn), slog.String("subscribe_url", m.SubscribeURL))
		f.metrics.requests.WithLabelValues(resultSNSControl).Inc()
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

// snsRejectStatus is the status of a rejected SNS message: 503 when the certificate or the
// confirmation could not be reached (SNS retries), 400 for a body that is not an SNS message
// SNS would send, 403 for everything that fails authentication.
func snsRejectStatus(reason string) int {
	switch reason {
	case SNSRejectCertUnavailable, SNSRejectConfirmFailed:
		return http.StatusServiceUnavailable
	case SNSRejectMalformed, SNSRejectUnknownType, SNSRejectSignatureVersion:
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// snsShaped reports whether body is a JSON object with a top-level "Type", the key by which the
// notification parser recognises an SNS envelope.
func snsShaped(body []byte) bool { return notification.HasMember(body, "Type") }

func (wh *Webhook) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, "ok\n")
	}
}

// fail counts the request under result, logs it and answers status with a JSON error.
func (wh *Webhook) fail(w http.ResponseWriter, r *http.Request, status int, result, msg string) {
	wh.f.metrics.requests.WithLabelValues(result).Inc()
	wh.f.log.LogAttrs(r.Context(), slog.LevelInfo, "webhook request refused",
		slog.Int("status", status), slog.String("result", result),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for the structs above
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// authorized reports whether header carries the configured token, as "Bearer <token>" or bare.
// With no token configured every request is authorized.
func (f *Forwarder) authorized(header string) bool {
	if f.token == "" {
		return true
	}
	return TokenMatches(header, f.token)
}

// TokenMatches reports whether an Authorization header value carries token, as
// "Bearer <token>" (any case of the scheme, blanks around the token ignored) or bare, comparing
// in constant time. An empty token matches nothing.
func TokenMatches(header, token string) bool {
	if token == "" {
		return false
	}
	if scheme, rest, ok := strings.Cut(header, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if equalSecret(strings.TrimSpace(rest), token) {
			return true
		}
	}
	return equalSecret(header, token)
}

// equalSecret compares in constant time. Comparing digests keeps the time independent of the
// lengths too (ConstantTimeCompare returns at once when they differ).
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// acceptedContentType reports whether ct is empty, application/json or text/plain (what SNS
// sends), parameters such as charset aside.
func acceptedContentType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/plain"
}

// neverPuttable reports whether a Write error is about the events themselves (invalid or too
// large), which no retry can fix, rather than about reaching the stream.
func neverPuttable(err error) bool {
	return errors.Is(err, ErrOversize) || errors.Is(err, envelope.ErrInvalid)
}
