package deadletter

import (
	"testing"
	"time"
)

func TestWithTTL(t *testing.T) {
	s, err := New(&fakeDynamoDB{}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if s.TTL() != 0 || s.WithTTL(time.Hour).TTL() != time.Hour || s.WithTTL(-1).TTL() != 0 {
		t.Fatal("WithTTL: want New's 0 left alone and the copy's TTL")
	}
}
