package emulators

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestClientAbortMidRequest_ServerSurvives: a client that goes away in the middle of a request
// body (a worker killed mid-call, a connection reset by the fault proxy) must not take the
// server down. kinesalite and dynalite throw on the request's "aborted" error; unhandled, that
// ended the process, and every later call was refused (a 20-minute chaos run lost its Kinesis).
func TestClientAbortMidRequest_ServerSurvives(t *testing.T) {
	clients := Require(t)
	ctx := context.Background()
	for _, svc := range []struct {
		name, env, target string
		alive             func() error
	}{
		{"kinesis", "AWS_ENDPOINT_URL_KINESIS", "Kinesis_20131202.ListStreams", func() error {
			_, err := clients.Kinesis.ListStreams(ctx, &kinesis.ListStreamsInput{})
			return err
		}},
		{"dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", "DynamoDB_20120810.ListTables", func() error {
			_, err := clients.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}},
	} {
		t.Run(svc.name, func(t *testing.T) {
			u, err := url.Parse(os.Getenv(svc.env))
			if err != nil || u.Host == "" {
				t.Skipf("%s not set", svc.env)
			}
			for i := range 3 {
				abortMidBody(t, u.Host, svc.target)
				if err := svc.alive(); err != nil {
					t.Fatalf("after client abort %d, %s no longer answers: %v", i+1, svc.name, err)
				}
			}
		})
	}
}

// abortMidBody sends a request whose body is cut short, waits until the server has read what
// was sent, and resets the connection.
func abortMidBody(t *testing.T, host, target string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	body := `{"Limit": 1`
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: %s\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/svc/aws4_request, SignedHeaders=host, Signature=0\r\n"+
		"X-Amz-Date: 20260101T000000Z\r\nContent-Length: 4096\r\n\r\n%s", host, target, body)
	if _, err := tc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// The server has the headers and part of the body once a read with a short deadline times
	// out without an answer (it waits for the rest of the body).
	_ = tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1)
	if _, err := tc.Read(buf); err == nil {
		t.Fatalf("the server answered a request with half its body")
	}
	_ = tc.SetLinger(0) // RST, as a killed process's socket
	_ = tc.Close()
}
