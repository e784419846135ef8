package forwarder

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// Test SNS endpoints: the certificate URL a real topic in us-east-1 would use, and its topic.
const (
	testTopic     = "arn:aws:sns:us-east-1:123456789012:shardline-input"
	testCertURL   = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
	testSubscribe = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=tok"
)

// snsSigner is a key and a self-signed certificate the test generates, standing in for SNS's.
type snsSigner struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	pem  []byte
}

func newSNSSigner(notBefore, notAfter time.Time) *snsSigner {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &snsSigner{key: key, cert: cert, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// testSigners are generated once, as SNS's ("real") and an attacker's key and certificate, plus
// an expired certificate: RSA key generation is slow under -race.
var testSigners = sync.OnceValues(func() (*snsSigner, *snsSigner) {
	now := time.Now()
	return newSNSSigner(now.Add(-time.Hour), now.Add(24*time.Hour)), newSNSSigner(now.Add(-time.Hour), now.Add(24*time.Hour))
})

var expiredSigner = sync.OnceValue(func() *snsSigner {
	now := time.Now()
	return newSNSSigner(now.Add(-48*time.Hour), now.Add(-24*time.Hour))
})

// sign fills Signature for m's canonical string with the given SignatureVersion.
func (s *snsSigner) sign(t testing.TB, m map[string]any) {
	t.Helper()
	var sm snsMessage
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &sm); err != nil {
		t.Fatal(err)
	}
	var canonical []byte
	if sm.Type == snsNotification {
		canonical = canonicalNotification(&sm)
	} else {
		canonical = canonicalConfirmation(&sm)
	}
	var sig []byte
	var err error
	switch m["SignatureVersion"] {
	case "1":
		h := sha1.Sum(canonical) //nolint:gosec
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, h[:])
	default:
		h := sha256.Sum256(canonical)
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
}

// snsNotificationMsg is an unsigned SNS Notification carrying message.
func snsNotificationMsg(message, version string) map[string]any {
	return map[string]any{
		"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn": testTopic,
		"Subject": "Amazon S3 Notification", "Message": message, "Timestamp": "2024-05-14T09:21:08.000Z",
		"SignatureVersion": version, "SigningCertURL": testCertURL,
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
	}
}

// snsConfirmationMsg is an unsigned SNS SubscriptionConfirmation or UnsubscribeConfirmation.
func snsConfirmationMsg(typ string) map[string]any {
	return map[string]any{
		"Type": typ, "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Token": "tok", "TopicArn": testTopic,
		"Message":      "You have chosen to subscribe to the topic " + testTopic + ".",
		"SubscribeURL": testSubscribe, "Timestamp": "2024-05-14T09:00:00.000Z",
		"SignatureVersion": "2", "SigningCertURL": testCertURL,
	}
}

// fakeFetcher serves certificates by URL and records every URL asked for.
type fakeFetcher struct {
	mu    sync.Mutex
	certs map[string][]byte
	fail  error
	calls []string
}

func (f *fakeFetcher) fetch(_ context.Context, u string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, u)
	if f.fail != nil {
		return nil, f.fail
	}
	if u == testSubscribe {
		return []byte("<ConfirmSubscriptionResponse/>"), nil
	}
	if b, ok := f.certs[u]; ok {
		return b, nil
	}
	return nil, errors.New("404 Not Found")
}

func (f *fakeFetcher) urls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func TestCheckSNSURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{testCertURL, true},
		{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem", true},
		{"http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem", false},
		{"https://sns.us-east-1.amazonaws.com.evil.example/x.pem", false},
		{"https://evil.example/sns.us-east-1.amazonaws.com/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com@evil.example/x.pem", false},
		{"https://user@sns.us-east-1.amazonaws.com/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com:8443/x.pem", false},
		{"https://sqs.us-east-1.amazonaws.com/x.pem", false},
		{"https://SNS.us-east-1.amazonaws.com/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com/x.pem?a=b", false},
		{"https://sns.us-east-1.amazonaws.com/x.txt", false},
		{"https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/x.pem", false},
		{"file:///etc/passwd", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := checkSNSURL(tc.url, ".pem")
			if (err == nil) != tc.ok {
				t.Fatalf("checkSNSURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestParseTopicARNs(t *testing.T) {
	got, err := ParseTopicARNs(" " + testTopic + ", arn:aws-cn:sns:cn-north-1:123456789012:t.fifo ,")
	if err != nil || len(got) != 2 {
		t.Fatalf("ParseTopicARNs = %q, %v", got, err)
	}
	for _, bad := range []string{"arn:aws:sqs:us-east-1:123456789012:q", "topic", "arn:aws:sns:us-east-1:12345:t"} {
		if _, err := ParseTopicARNs(bad); err == nil {
			t.Errorf("ParseTopicARNs(%q) accepted", bad)
		}
	}
}

// TestSNSCertificateIsCached shows the certificate is fetched once for many messages.
func TestSNSCertificateIsCached(t *testing.T) {
	real, _ := testSigners()
	fetcher := &fakeFetcher{certs: map[string][]byte{testCertURL: real.pem}}
	v := newSNSVerifier(SNSConfig{TopicARNs: []string{testTopic}, Fetch: fetcher.fetch})
	for i := range 3 {
		m := snsNotificationMsg(`{"Records":[]}`, "2")
		m["MessageId"] = string(rune('a' + i))
		real.sign(t, m)
		b, _ := json.Marshal(m)
		if _, rej := v.verify(t.Context(), b); rej != nil {
			t.Fatalf("message %d rejected: %v", i, rej)
		}
	}
	if n := len(fetcher.urls()); n != 1 {
		t.Fatalf("certificate fetched %d times, want 1", n)
	}
}
