package forwarder

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/notification"
)

// TestForward: Forward reports what HandleLambda would have acknowledged silently (a malformed
// payload, refused events) and counts what reached the stream.
func TestForward(t *testing.T) {
	alwaysThrottled := func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, &types.ProvisionedThroughputExceededException{}
	}
	tests := []struct {
		name    string
		payload string
		allow   string
		respond putRecordsFunc
		want    Delivery
		wantErr error
	}{
		{name: "all in", payload: `{"events":[{"key":"a","seq":1},{"key":"b","seq":1}],"skipped":["test_event"]}`,
			want: Delivery{Events: 2, Forwarded: 2, Skipped: 1}},
		{name: "only skips", payload: `{"skipped":["test_event"]}`, want: Delivery{Skipped: 1}},
		{name: "malformed is an error", payload: `[1]`, wantErr: notification.ErrMalformed},
		{name: "refused by the allow-list", payload: `{"events":[{"key":"a","seq":1}]}`, allow: "other-bucket",
			want: Delivery{Events: 1, Refused: 1}},
		{name: "Kinesis keeps failing", payload: `{"events":[{"key":"a","seq":1}]}`, respond: alwaysThrottled,
			want: Delivery{Events: 1}, wantErr: ErrNotForwarded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, reg, _ := newTestWriter(t, &fakeKinesis{respond: tc.respond}, func(c *WriterConfig) { c.MaxAttempts = 2 })
			allow, err := bucket.ParseAllowList(tc.allow)
			if err != nil {
				t.Fatal(err)
			}
			f := newTestForwarder(t, w, reg, func(c *Config) { c.InputBuckets = allow })
			got, err := f.Forward(t.Context(), []byte(tc.payload))
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Forward error %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Forward = %+v, want %+v", got, tc.want)
			}
		})
	}
}
