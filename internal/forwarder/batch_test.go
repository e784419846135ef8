package forwarder

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

// TestEnvelopeAlwaysFitsARecord is the reason an *OversizeError cannot come from a notification:
// the largest envelope the field limits allow, with the longest partition key, fits a record.
func TestEnvelopeAlwaysFitsARecord(t *testing.T) {
	if envelope.MaxEncodedLen+envelope.MaxPartitionKeyLen > MaxRecordBytes {
		t.Fatalf("envelope.MaxEncodedLen %d + partition key %d exceed MaxRecordBytes %d",
			envelope.MaxEncodedLen, envelope.MaxPartitionKeyLen, MaxRecordBytes)
	}
}

// TestMakeRecordRefusesOversize checks the last guard before PutRecords, with data of a given size.
func TestMakeRecordRefusesOversize(t *testing.T) {
	ev := testEvent(t, "big.jpg", 1)
	pk := len(ev.PartitionKey())
	tests := []struct {
		name    string
		data    int
		wantErr bool
	}{
		{"at the limit", MaxRecordBytes - pk, false},
		{"one byte over", MaxRecordBytes - pk + 1, true},
		{"far over", 6 << 20, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := makeRecord(ev, make([]byte, tc.data))
			if !tc.wantErr {
				if err != nil || r.size != MaxRecordBytes {
					t.Fatalf("makeRecord: size %d, %v; want %d", r.size, err, MaxRecordBytes)
				}
				return
			}
			oe, ok := errors.AsType[*OversizeError](err)
			if !ok || !errors.Is(err, ErrOversize) || !neverPuttable(err) {
				t.Fatalf("error %v, want an *OversizeError that is never puttable", err)
			}
			if oe.Size != tc.data+pk || oe.Limit != MaxRecordBytes || oe.ObjectID != "in-bucket/big.jpg" || oe.EventID != ev.ID {
				t.Errorf("OversizeError %+v", oe)
			}
		})
	}
}

// TestBatchesBySize splits records of given sizes, including records at MaxRecordBytes that
// envelopes never reach, within the PutRecords request limits.
func TestBatchesBySize(t *testing.T) {
	mib := 1 << 20
	repeat := func(n, size int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = size
		}
		return out
	}
	tests := []struct {
		name  string
		sizes []int
		want  []int
	}{
		{"none", nil, nil},
		{"5 MiB fits one call", repeat(5, mib), []int{5}},
		{"over 5 MiB splits", repeat(6, mib), []int{5, 1}},
		{"bytes split before count", repeat(10, 600<<10), []int{8, 2}},
		{"largest record alone", []int{MaxRecordBytes}, []int{1}},
		{"count limit", repeat(1001, 10), []int{500, 500, 1}},
		{"large after small starts a new call", append(repeat(499, 10<<10), mib), []int{499, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := make([]record, len(tc.sizes))
			for i, s := range tc.sizes {
				recs[i] = record{size: s}
			}
			var got []int
			total := 0
			for _, b := range batches(recs) {
				bytes := 0
				for _, r := range b {
					bytes += r.size
				}
				if len(b) > MaxRequestRecords || bytes > MaxRequestBytes {
					t.Errorf("batch of %d records, %d bytes exceeds the limits", len(b), bytes)
				}
				got = append(got, len(b))
				total += len(b)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || total != len(recs) {
				t.Fatalf("records per batch %v, want %v", got, tc.want)
			}
		})
	}
}
