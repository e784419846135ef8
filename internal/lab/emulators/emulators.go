// Package emulators connects integration tests to the local stack (infra/local/stack.sh): real
// servers speaking the S3, Kinesis and DynamoDB wire protocols on 127.0.0.1. `make test` starts
// the stack and sets SHARDLINE_INTEGRATION=1; with that set, an unreachable stack fails the test
// instead of skipping it.
//
// SHARDLINE_STACK says which servers those are: "local" (or unset) for MinIO, kinesalite and
// dynalite, "moto" for one moto_server serving all three services (`stack.sh up moto`, `eval
// "$(stack.sh env moto)"`), a second, independent implementation of the protocols that `make
// test` runs some packages against as well. A test that needs what moto lacks calls SkipOnMoto.
package emulators

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/lab/proc"
)

// EnvVar enables the integration tests.
const EnvVar = "SHARDLINE_INTEGRATION"

// StackVar selects the servers the integration tests talk to: StackLocal (the default) or
// StackMoto. `stack.sh env` and `stack.sh env moto` set it.
const StackVar = "SHARDLINE_STACK"

// The values of StackVar.
const (
	StackLocal = "local" // MinIO, kinesalite and dynalite (stack.sh up)
	StackMoto  = "moto"  // moto_server for S3, Kinesis and DynamoDB (stack.sh up moto)
)

// Stack returns the stack selected by StackVar: StackLocal when it is unset, otherwise its
// value (Require fails a test on a value it does not know).
func Stack() string {
	if s := os.Getenv(StackVar); s != "" {
		return s
	}
	return StackLocal
}

// SkipOnMoto skips the test when the integration tests run against moto_server, with why (what
// moto does not do) in the skip message. Call it before Require, or instead of it in a test that
// needs the local stack for a part it reaches some other way.
func SkipOnMoto(t testing.TB, why string) {
	t.Helper()
	if Stack() == StackMoto {
		t.Skipf("not on moto (%s=%s): %s", StackVar, StackMoto, why)
	}
}

// Require returns clients for the local stack, skipping the test when integration tests are not
// enabled and failing it when they are but the stack does not answer.
func Require(t testing.TB) awsclients.Clients {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skipf("integration test: run `make test` (or set %s=1 with the local stack up)", EnvVar)
	}
	if err := checkStack(); err != nil {
		t.Fatalf("local stack: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := awsclients.Load(ctx, awsclients.Options{S3PathStyle: os.Getenv("SHARDLINE_S3_PATH_STYLE") == "true"})
	if err != nil {
		t.Fatalf("local stack: %v", err)
	}
	if _, err := c.Kinesis.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("local stack Kinesis (%s) does not answer: %v", os.Getenv("AWS_ENDPOINT_URL_KINESIS"), err)
	}
	if _, err := c.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("local stack DynamoDB (%s) does not answer: %v", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), err)
	}
	if _, err := c.S3.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("local stack S3 (%s) does not answer: %v", os.Getenv("AWS_ENDPOINT_URL_S3"), err)
	}
	return c
}

// checkStack refuses an unknown StackVar, and StackMoto with endpoints that are not all one
// server: a test that skips on moto must not run against a half-switched environment.
func checkStack() error {
	switch Stack() {
	case StackLocal:
		return nil
	case StackMoto:
		s3, kin, ddb := os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL_KINESIS"), os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
		if s3 == "" || s3 != kin || s3 != ddb {
			return fmt.Errorf("%s=%s but the endpoints are S3 %q, Kinesis %q, DynamoDB %q (want one moto_server: eval \"$(infra/local/stack.sh env moto)\")",
				StackVar, StackMoto, s3, kin, ddb)
		}
		return nil
	default:
		return fmt.Errorf("%s=%q: want %q or %q", StackVar, Stack(), StackLocal, StackMoto)
	}
}

// Name returns a resource name unique to this test run: prefix-<test>-<random>, lower case,
// at most 63 characters (valid for buckets, streams and tables).
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	test := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, t.Name())
	name := prefix + "-" + test
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-") + "-" + hex.EncodeToString(b[:])
}

// Shardline builds the production binary (cmd/shardline) into a directory of the test and
// returns its path.
func Shardline(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shardline")
	if err := proc.Build(t.Context(), proc.ShardlinePackage, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// WebhookAddr returns the address MinIO's webhook target posts to (from `stack.sh env`), after
// taking an exclusive lock on it for the rest of the test: tests in different packages run in
// parallel, and two listeners taking turns on one address would swallow each other's
// notifications.
func WebhookAddr(t testing.TB) string {
	t.Helper()
	SkipOnMoto(t, "moto's S3 cannot send webhook notifications (MinIO's do)")
	addr := os.Getenv("SHARDLINE_WEBHOOK_ADDR")
	if addr == "" {
		addr = DefaultWebhookAddr
	}
	release, err := LockWebhook(context.Background(), addr, 10*time.Minute)
	if err != nil {
		t.Fatalf("webhook lock: %v", err)
	}
	t.Cleanup(release)
	return addr
}
