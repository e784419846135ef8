package forwarder

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SNS message types the webhook handles.
const (
	snsNotification             = "Notification"
	snsSubscriptionConfirmation = "SubscriptionConfirmation"
	snsUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// SNSMessageTypeHeader is the header SNS sets on every HTTP(S) delivery.
const SNSMessageTypeHeader = "X-Amz-Sns-Message-Type"

// Reasons an SNS message is rejected, the values of the reason label of sns_rejected_total.
const (
	SNSRejectDisabled         = "sns_disabled"      // no topic is allow-listed
	SNSRejectMalformed        = "malformed"         // not an SNS message, or a field missing
	SNSRejectUnknownType      = "unknown_type"      // a Type other than the three SNS sends
	SNSRejectUnsigned         = "unsigned"          // no Signature or SignatureVersion
	SNSRejectSignatureVersion = "signature_version" // a SignatureVersion other than 1 or 2
	SNSRejectTopicNotAllowed  = "topic_not_allowed" // TopicArn not on the allow-list
	SNSRejectCertURL          = "cert_url"          // SigningCertURL not https on an SNS host
	SNSRejectCertUnavailable  = "cert_unavailable"  // the certificate could not be fetched
	SNSRejectCertInvalid      = "cert_invalid"      // not a PEM X.509 certificate, or expired
	SNSRejectBadSignature     = "bad_signature"     // the signature does not verify
	SNSRejectSubscribeURL     = "subscribe_url"     // SubscribeURL not https on an SNS host
	SNSRejectConfirmFailed    = "confirm_failed"    // visiting SubscribeURL failed
)

const (
	maxCertBytes           = 64 << 10         // an SNS signing certificate is about 2 KiB
	maxCachedCerts         = 32               // SNS rotates its certificates rarely
	defaultSNSFetchTimeout = 10 * time.Second // per certificate fetch or confirmation
	// snsHostPattern matches the SNS endpoints of the AWS partitions.
	snsHostPattern = `^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`
)

var snsHost = regexp.MustCompile(snsHostPattern)

// snsTopicARN matches an SNS topic ARN in any AWS partition.
var snsTopicARN = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// SNSConfig configures the authentication of SNS HTTP(S) subscription messages posted to the
// webhook. Every message is verified before anything in it is used: its signature
// (SignatureVersion 1, SHA1withRSA, or 2, SHA256withRSA) over the canonical string SNS documents
// for its Type, with the certificate at SigningCertURL, which must be an https URL of an SNS host
// (sns.<region>.amazonaws.com or .amazonaws.com.cn) ending in .pem; and its TopicArn against
// TopicARNs. The certificate is fetched only after every other check passed, and cached.
type SNSConfig struct {
	// TopicARNs is the allow-list of topics whose messages are accepted. Empty: every SNS message
	// is rejected (sns_disabled).
	TopicARNs []string
	// Fetch GETs an https URL: the signing certificate (returns its body) and, for a verified
	// SubscriptionConfirmation, SubscribeURL (confirms the subscription). Only URLs on SNS hosts
	// reach it. Nil means an HTTP client with a 10-second timeout that follows no redirects and
	// reads at most 64 KiB. Tests inject a fake: nothing goes to the network.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Now is the clock for the certificate's validity period. Nil means time.Now.
	Now func() time.Time
}

func (c SNSConfig) validate() error {
	var errs []error
	for _, arn := range c.TopicARNs {
		if !snsTopicARN.MatchString(arn) {
			errs = append(errs, fmt.Errorf("SNS topic %q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", arn))
		}
	}
	return errors.Join(errs...)
}

// ParseTopicARNs splits a comma-separated list of SNS topic ARNs (blanks ignored) and checks each.
func ParseTopicARNs(s string) ([]string, error) {
	var arns []string
	for _, item := range strings.Split(s, ",") {
		if arn := strings.TrimSpace(item); arn != "" {
			arns = append(arns, arn)
		}
	}
	if err := (SNSConfig{TopicARNs: arns}).validate(); err != nil {
		return nil, err
	}
	return arns, nil
}

// snsMessage is an SNS HTTP(S) delivery. Field names match case-insensitively, so the Lambda
// spellings (SigningCertUrl) decode too; only these values enter the canonical string and the
// forwarded Message, so a duplicate key cannot make the verified and the used value differ.
type snsMessage struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token"`
	TopicArn         string  `json:"TopicArn"`
	Subject          *string `json:"Subject"`
	Message          *string `json:"Message"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
	SubscribeURL     string  `json:"SubscribeURL"`
}

// snsRejection is why a message was rejected: a reason label and a message for the sender.
type snsRejection struct {
	reason string
	msg    string
	err    error // the underlying failure, for the log
}

func (r *snsRejection) Error() string {
	if r.err != nil {
		return r.msg + ": " + r.err.Error()
	}
	return r.msg
}

func reject(reason, msg string, err error) *snsRejection {
	return &snsRejection{reason: reason, msg: msg, err: err}
}

// snsVerifier checks SNS messages; safe for concurrent use.
type snsVerifier struct {
	topics map[string]bool
	fetch  func(ctx context.Context, url string) ([]byte, error)
	now    func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

func newSNSVerifier(c SNSConfig) *snsVerifier {
	v := &snsVerifier{topics: map[string]bool{}, fetch: c.Fetch, now: c.Now, certs: map[string]*x509.Certificate{}}
	for _, arn := range c.TopicARNs {
		v.topics[arn] = true
	}
	if v.fetch == nil {
		v.fetch = httpsGet(&http.Client{
			Timeout: defaultSNSFetchTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("redirects are not followed")
			},
		})
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v
}

func (v *snsVerifier) enabled() bool { return len(v.topics) > 0 }

// verify decodes body as an SNS message and authenticates it; it returns the message or why it
// was rejected. It fetches the signing certificate only after every other check passed.
func (v *snsVerifier) verify(ctx context.Context, body []byte) (*snsMessage, *snsRejection) {
	if !v.enabled() {
		return nil, reject(SNSRejectDisabled, "SNS messages are not accepted: no SNS topic is allow-listed", nil)
	}
	var m snsMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, reject(SNSRejectMalformed, "not an SNS message", err)
	}
	var canonical []byte
	switch m.Type {
	case snsNotification:
		if m.MessageID == "" || m.Message == nil || m.Timestamp == "" || m.TopicArn == "" {
			return nil, reject(SNSRejectMalformed, "SNS Notification without MessageId, Message, Timestamp or TopicArn", nil)
		}
		canonical = canonicalNotification(&m)
	case snsSubscriptionConfirmation, snsUnsubscribeConfirmation:
		if m.MessageID == "" || m.Message == nil || m.Timestamp == "" || m.TopicArn == "" || m.Token == "" || m.SubscribeURL == "" {
			return nil, reject(SNSRejectMalformed, "SNS "+m.Type+" without MessageId, Message, SubscribeURL, Timestamp, Token or TopicArn", nil)
		}
		canonical = canonicalConfirmation(&m)
	case "":
		return nil, reject(SNSRejectMalformed, "SNS message without a Type", nil)
	default:
		return nil, reject(SNSRejectUnknownType, fmt.Sprintf("unknown SNS message type %q", clipString(m.Type)), nil)
	}
	if m.Signature == "" || m.SignatureVersion == "" || m.SigningCertURL == "" {
		return nil, reject(SNSRejectUnsigned, "SNS message without Signature, SignatureVersion or SigningCertURL", nil)
	}
	var algo x509.SignatureAlgorithm
	switch m.SignatureVersion {
	case "1":
		algo = x509.SHA1WithRSA
	case "2":
		algo = x509.SHA256WithRSA
	default:
		return nil, reject(SNSRejectSignatureVersion, fmt.Sprintf("SignatureVersion %q is neither 1 nor 2", clipString(m.SignatureVersion)), nil)
	}
	if !v.topics[m.TopicArn] {
		return nil, reject(SNSRejectTopicNotAllowed, fmt.Sprintf("topic %q is not allow-listed", clipString(m.TopicArn)), nil)
	}
	if err := checkSNSURL(m.SigningCertURL, ".pem"); err != nil {
		return nil, reject(SNSRejectCertURL, "SigningCertURL refused", err)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return nil, reject(SNSRejectBadSignature, "Signature is not base64", err)
	}
	cert, rej := v.cert(ctx, m.SigningCertURL)
	if rej != nil {
		return nil, rej
	}
	if err := cert.CheckSignature(algo, canonical, sig); err != nil {
		return nil, reject(SNSRejectBadSignature, "signature does not verify", err)
	}
	return &m, nil
}

// confirm visits a verified SubscriptionConfirmation's SubscribeURL, which must be an https URL
// of an SNS host.
func (v *snsVerifier) confirm(ctx context.Context, m *snsMessage) *snsRejection {
	if err := checkSNSURL(m.SubscribeURL, ""); err != nil {
		return reject(SNSRejectSubscribeURL, "SubscribeURL refused", err)
	}
	if _, err := v.fetch(ctx, m.SubscribeURL); err != nil {
		return reject(SNSRejectConfirmFailed, "cannot confirm the subscription", err)
	}
	return nil
}

// cert returns the certificate at u, from the cache or fetched and parsed, if it is valid now.
func (v *snsVerifier) cert(ctx context.Context, u string) (*x509.Certificate, *snsRejection) {
	v.mu.Lock()
	cert := v.certs[u]
	v.mu.Unlock()
	if cert == nil {
		ctx, cancel := context.WithTimeout(ctx, defaultSNSFetchTimeout)
		defer cancel()
		b, err := v.fetch(ctx, u)
		if err != nil {
			return nil, reject(SNSRejectCertUnavailable, "cannot fetch the signing certificate", err)
		}
		block, _ := pem.Decode(b)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, reject(SNSRejectCertInvalid, "signing certificate is not a PEM certificate", nil)
		}
		cert, err = x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, reject(SNSRejectCertInvalid, "signing certificate does not parse", err)
		}
		v.mu.Lock()
		if len(v.certs) >= maxCachedCerts {
			clear(v.certs)
		}
		v.certs[u] = cert
		v.mu.Unlock()
	}
	if now := v.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, reject(SNSRejectCertInvalid, "signing certificate is not valid now", nil)
	}
	return cert, nil
}

// checkSNSURL accepts only https URLs on an SNS host of the AWS partitions, without credentials,
// port, query or fragment, and (when suffix is not empty) whose path ends in suffix.
func checkSNSURL(raw, suffix string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q does not parse", clipString(raw))
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%q is not https", clipString(raw))
	case u.User != nil || u.Port() != "" || u.Opaque != "":
		return fmt.Errorf("%q has credentials, a port or an opaque part", clipString(raw))
	case !snsHost.MatchString(u.Hostname()):
		return fmt.Errorf("host %q is not an SNS host (%s)", clipString(u.Hostname()), snsHostPattern)
	case suffix != "" && (!strings.HasSuffix(u.Path, suffix) || u.RawQuery != "" || u.Fragment != ""):
		return fmt.Errorf("%q is not a path ending in %s", clipString(raw), suffix)
	}
	return nil
}

// canonicalNotification is the string SNS signs for a Notification: name and value lines of
// Message, MessageId, Subject (when present), Timestamp, TopicArn and Type, in that order.
func canonicalNotification(m *snsMessage) []byte {
	var b strings.Builder
	field(&b, "Message", *m.Message)
	field(&b, "MessageId", m.MessageID)
	if m.Subject != nil && *m.Subject != "" {
		field(&b, "Subject", *m.Subject)
	}
	field(&b, "Timestamp", m.Timestamp)
	field(&b, "TopicArn", m.TopicArn)
	field(&b, "Type", m.Type)
	return []byte(b.String())
}

// canonicalConfirmation is the string SNS signs for a SubscriptionConfirmation or
// UnsubscribeConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
func canonicalConfirmation(m *snsMessage) []byte {
	var b strings.Builder
	field(&b, "Message", *m.Message)
	field(&b, "MessageId", m.MessageID)
	field(&b, "SubscribeURL", m.SubscribeURL)
	field(&b, "Timestamp", m.Timestamp)
	field(&b, "Token", m.Token)
	field(&b, "TopicArn", m.TopicArn)
	field(&b, "Type", m.Type)
	return []byte(b.String())
}

func field(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteByte('\n')
	b.WriteString(value)
	b.WriteByte('\n')
}

// httpsGet returns a fetcher that GETs a URL with c and returns at most maxCertBytes of a 200
// answer.
func httpsGet(c *http.Client) func(ctx context.Context, u string) ([]byte, error) {
	return func(ctx context.Context, u string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		if len(b) > maxCertBytes {
			return nil, fmt.Errorf("GET %s: answer larger than %d bytes", u, maxCertBytes)
		}
		return b, nil
	}
}

// clipString bounds an attacker-controlled value before it goes into an error or a log.
func clipString(s string) string {
	if len(s) <= 128 {
		return s
	}
	return s[:128] + "…"
}
