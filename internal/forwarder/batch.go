package forwarder

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
)

// PutRecords limits the Writer batches by. They are the classic Kinesis limits, which every
// stream (and every local emulator) accepts; streams configured for larger records accept more,
// but the envelope is a few kilobytes at most, so nothing is gained by using them.
const (
	// MaxRequestRecords is the most records one PutRecords call carries.
	MaxRequestRecords = 500
	// MaxRequestBytes is the most bytes (data plus partition keys) one PutRecords call carries.
	MaxRequestBytes = 5 << 20
	// MaxRecordBytes is the largest record (data plus partition key) the Writer puts.
	MaxRecordBytes = 1 << 20
)

// record is one encoded event ready for PutRecords.
type record struct {
	ev    envelope.Event
	entry types.PutRecordsRequestEntry
	size  int // data plus partition key bytes, what the request limits count
}

func newRecord(ev envelope.Event) (record, error) {
	data, err := envelope.Encode(ev)
	if err != nil {
		return record{}, err
	}
	return makeRecord(ev, data)
}

// makeRecord wraps an event's encoded data, refusing a record over MaxRecordBytes. Encoded
// envelopes are at most envelope.MaxEncodedLen bytes, so the check guards against a change of
// those limits rather than against input.
func makeRecord(ev envelope.Event, data []byte) (record, error) {
	pk := ev.PartitionKey()
	r := record{
		ev:    ev,
		entry: types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(pk)},
		size:  len(data) + len(pk),
	}
	if r.size > MaxRecordBytes {
		return record{}, &OversizeError{EventID: ev.ID, ObjectID: ev.ObjectID(), Size: r.size, Limit: MaxRecordBytes}
	}
	return r, nil
}

// batches splits records, in order, into runs that each fit one PutRecords call. Every record
// must already be within MaxRecordBytes.
func batches(records []record) [][]record {
	var out [][]record
	start, bytes := 0, 0
	for i, r := range records {
		if i > start && (i-start == MaxRequestRecords || bytes+r.size > MaxRequestBytes) {
			out = append(out, records[start:i:i])
			start, bytes = i, 0
		}
		bytes += r.size
	}
	if start < len(records) {
		out = append(out, records[start:len(records):len(records)])
	}
	return out
}
