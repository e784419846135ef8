package redrive_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/redrive"
)

// scriptedKinesis answers DescribeStreamSummary with status (or describeErr) and each PutRecords
// call with the next of answers (the last one repeats).
type scriptedKinesis struct {
	status      types.StreamStatus
	describeErr error
	answers     []func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)

	mu    sync.Mutex
	calls int
}

func (k *scriptedKinesis) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	if k.describeErr != nil {
		return nil, k.describeErr
	}
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{StreamStatus: k.status}}, nil
}

func (k *scriptedKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	a := k.answers[min(k.calls, len(k.answers)-1)]
	k.calls++
	return a(in)
}

func failCall(err error) func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	return func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) { return nil, err }
}

func refuseAll(code string) func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	return func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(int32(len(in.Records)))}
		for range in.Records {
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("refused")})
		}
		return out, nil
	}
}

func acceptAll(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{}
	for range in.Records {
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String("1"), ShardId: aws.String("shardId-000000000000")})
	}
	return out, nil
}

type memLetters struct {
	mu      sync.Mutex
	letters []deadletter.Letter
	listed  bool
}

func (m *memLetters) List(context.Context) ([]deadletter.Letter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listed = true
	return append([]deadletter.Letter(nil), m.letters...), nil
}

func (m *memLetters) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, l := range m.letters {
		if l.ID() == id {
			m.letters = append(m.letters[:i], m.letters[i+1:]...)
			return nil
		}
	}
	return nil
}

type countingLedger struct{ reopens int }

func (l *countingLedger) Reopen(context.Context, string, string, string) (ledger.ReopenResult, error) {
	l.reopens++
	return ledger.Reopened, nil
}

func oneLetter(t *testing.T) *memLetters {
	t.Helper()
	return &memLetters{letters: []deadletter.Letter{letterOf(t, putEvent(t, "0B"))}}
}

func TestRedriveStopsOnErrorsRetryingCannotFix(t *testing.T) {
	apiErr := func(code string, fault smithy.ErrorFault) error {
		return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}}
	}
	tests := []struct {
		name    string
		k       *scriptedKinesis
		wantErr string // "" means success
		reopens int    // ledger entries reopened
		calls   int    // PutRecords calls made
		left    int    // letters left
	}{
		{"stream missing", &scriptedKinesis{describeErr: &types.ResourceNotFoundException{Message: aws.String("Stream s not found")}}, "Stream s not found", 0, 0, 1},
		{"describe denied", &scriptedKinesis{describeErr: apiErr("AccessDeniedException", smithy.FaultClient)}, "AccessDeniedException", 0, 0, 1},
		{"stream being created", &scriptedKinesis{status: types.StreamStatusCreating}, "is CREATING", 0, 0, 1},
		{"stream being deleted", &scriptedKinesis{status: types.StreamStatusDeleting}, "is DELETING", 0, 0, 1},
		{"put denied", &scriptedKinesis{status: types.StreamStatusActive, answers: []func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error){
			failCall(apiErr("AccessDeniedException", smithy.FaultClient))}}, "not retried", 1, 1, 1},
		{"validation", &scriptedKinesis{status: types.StreamStatusActive, answers: []func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error){
			failCall(apiErr("ValidationException", smithy.FaultClient))}}, "ValidationException", 1, 1, 1},
		{"KMS key disabled", &scriptedKinesis{status: types.StreamStatusActive, answers: []func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error){
			refuseAll("KMSDisabledException")}}, "KMSDisabledException", 1, 1, 1},
		{"throttled, then in", &scriptedKinesis{status: types.StreamStatusUpdating, answers: []func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error){
			failCall(apiErr("ProvisionedThroughputExceededException", smithy.FaultClient)), refuseAll("InternalFailure"), acceptAll}}, "", 1, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			letters, led := oneLetter(t), &countingLedger{}
			start := time.Now()
			res, err := redrive.Run(context.Background(), redrive.Config{Kinesis: tc.k, Letters: letters, Ledger: led, Stream: "s", Deadline: 20 * time.Second})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one that says %q", err, tc.wantErr)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
			if led.reopens != tc.reopens || tc.k.calls != tc.calls || len(letters.letters) != tc.left {
				t.Errorf("%d reopens, %d PutRecords calls, %d letters left; want %d, %d, %d", led.reopens, tc.k.calls, len(letters.letters), tc.reopens, tc.calls, tc.left)
			}
			if tc.calls == 0 && letters.listed {
				t.Error("the letters were listed although the stream cannot take records")
			}
			if tc.wantErr != "" && tc.calls > 0 && (len(res.Letters) != 1 || res.Letters[0].Done || res.Letters[0].Error == "") {
				t.Errorf("letters %+v, want the one letter kept with its error", res.Letters)
			}
		})
	}
	var notFound *types.ResourceNotFoundException
	_, err := redrive.Run(context.Background(), redrive.Config{Kinesis: &scriptedKinesis{describeErr: &types.ResourceNotFoundException{}}, Letters: oneLetter(t), Ledger: &countingLedger{}, Stream: "s"})
	if !errors.As(err, &notFound) {
		t.Errorf("err %v does not wrap the SDK's ResourceNotFoundException", err)
	}
}

// TestRedriveKeepsOnlyTheRefusedLetters: of one PutRecords call, the letters whose records are in
// are removed and the one refused with an error retrying cannot fix is kept with that error.
func TestRedriveKeepsOnlyTheRefusedLetters(t *testing.T) {
	letters := &memLetters{}
	for i, seq := range []string{"0A", "0B", "0C"} {
		ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", seq+".jpg", envelope.OpPut, seq, "etag", "", 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		l := letterOf(t, ev)
		l.SequenceNumber = fmt.Sprint(49590 + i) // one letter per record
		letters.letters = append(letters.letters, l)
	}
	refuseB := func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out, _ := acceptAll(in)
		for i, r := range in.Records {
			if aws.ToString(r.PartitionKey) == "in/0B.jpg" {
				out.Records[i] = types.PutRecordsResultEntry{ErrorCode: aws.String("KMSAccessDeniedException"), ErrorMessage: aws.String("denied")}
				out.FailedRecordCount = aws.Int32(1)
			}
		}
		return out, nil
	}
	k := &scriptedKinesis{status: types.StreamStatusActive, answers: []func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error){refuseB}}
	res, err := redrive.Run(t.Context(), redrive.Config{Kinesis: k, Letters: letters, Ledger: &countingLedger{}, Stream: "s", Deadline: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "KMSAccessDeniedException") {
		t.Fatalf("err = %v, want one that names KMSAccessDeniedException", err)
	}
	if k.calls != 1 || res.InStream != 2 || res.Deleted != 2 {
		t.Errorf("%d calls, result %+v; want 1 call, 2 in the stream and deleted", k.calls, res.Progress)
	}
	if len(letters.letters) != 1 || letters.letters[0].Object != "in/0B.jpg" {
		t.Fatalf("letters left %+v, want in/0B.jpg's only", letters.letters)
	}
	for _, l := range res.Letters {
		if refused := l.Object == "in/0B.jpg"; l.Done == refused || (l.Error != "") != refused {
			t.Errorf("letter %s: done %v, error %q", l.Object, l.Done, l.Error)
		}
	}
}
