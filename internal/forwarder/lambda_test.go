package forwarder

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/notification"
)

func TestHandleLambda(t *testing.T) {
	alwaysThrottled := func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, &types.ProvisionedThroughputExceededException{}
	}
	tests := []struct {
		name        string
		payload     string
		respond     putRecordsFunc
		wantErr     error // nil: success
		wantRecords int
		result      string
		malformed   float64
		skipped     float64
	}{
		{
			name:        "forwarded",
			payload:     `{"events":[{"key":"a","seq":1},{"key":"b","seq":1}],"skipped":["test_event"]}`,
			wantRecords: 2, result: resultForwarded, skipped: 1,
		},
		{
			name: "only skips", payload: `{"skipped":["test_event"]}`,
			result: resultForwarded, skipped: 1,
		},
		{
			name: "malformed payload acknowledged", payload: `[1,2,3]`,
			result: resultMalformed, malformed: 1,
		},
		{
			name: "Kinesis keeps failing", payload: `{"events":[{"key":"a","seq":1}]}`, respond: alwaysThrottled,
			wantErr: ErrNotForwarded, wantRecords: 2, result: resultWriteFailed,
		},
		{
			name: "event that can never be put", payload: `{"events":[{"key":"a","seq":1},{"key":"b","invalid":true}]}`,
			wantErr: envelope.ErrInvalid, result: resultWriteFailed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{respond: tc.respond}
			w, reg, _ := newTestWriter(t, kin, func(c *WriterConfig) { c.MaxAttempts = 2 })
			f := newTestForwarder(t, w, reg, nil)
			err := f.HandleLambda(t.Context(), []byte(tc.payload))
			if tc.wantErr == nil && err != nil {
				t.Fatalf("HandleLambda: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("HandleLambda error %v, want %v", err, tc.wantErr)
			}
			records := 0
			for _, in := range kin.sent() {
				records += len(in.Records)
			}
			if records != tc.wantRecords {
				t.Errorf("Kinesis received %d records, want %d", records, tc.wantRecords)
			}
			assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": tc.result}, 1)
			assertCounter(t, reg, "shardline_forwarder_malformed_total", nil, tc.malformed)
			assertCounter(t, reg, "shardline_forwarder_events_skipped_total", map[string]string{"reason": "test_event"}, tc.skipped)
		})
	}
}

func TestHandleLambdaUnexpectedParseError(t *testing.T) {
	// An error that is not ErrMalformed is not acknowledged: the payload comes back.
	w, reg, _ := newTestWriter(t, &fakeKinesis{}, nil)
	f := newTestForwarder(t, w, reg, func(c *Config) {
		c.Parse = func([]byte) (notification.Result, error) { return notification.Result{}, errTest }
	})
	if err := f.HandleLambda(t.Context(), []byte(`{}`)); !errors.Is(err, errTest) {
		t.Fatalf("HandleLambda error %v, want the parse error", err)
	}
	assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": resultParseFailed}, 1)
}
