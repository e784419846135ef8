package processor

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
)

func TestEscapeRecord(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		escaped bool
	}{
		{"envelope", []byte(`{"v":1}`), false},
		{"empty", []byte{}, false},
		{"nil", nil, false},
		{"shorter than the magic", kplMagic[:3], false},
		{"KPL magic", append(bytes.Clone(kplMagic), "payload"...), true},
		{"magic only", bytes.Clone(kplMagic), true},
		{"starts with the escape", append(bytes.Clone(rawEscape), "x"...), true},
		{"escape of an escaped aggregate", append(bytes.Clone(rawEscape), kplMagic...), true},
		{"escape prefix cut short", rawEscape[:len(rawEscape)-1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			esc := escapeRecord(tc.data)
			if bytes.HasPrefix(esc, kplMagic) {
				t.Fatalf("escaped record %q still starts with the KPL magic", esc)
			}
			if got := !bytes.Equal(esc, tc.data) || len(esc) != len(tc.data); got != tc.escaped {
				t.Fatalf("escaped = %v, want %v (%q)", got, tc.escaped, esc)
			}
			if back := unescapeRecord(esc); !bytes.Equal(back, tc.data) {
				t.Fatalf("unescape(escape(%q)) = %q", tc.data, back)
			}
		})
	}
}

// recordingProcessor keeps the records it was given.
type recordingProcessor struct{ got [][]byte }

func (p *recordingProcessor) Initialize(*kcl.InitializationInput) {}
func (p *recordingProcessor) Shutdown(*kcl.ShutdownInput)         {}
func (p *recordingProcessor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	for _, r := range in.Records {
		p.got = append(p.got, r.Data)
	}
}

type recordingFactory struct{ p *recordingProcessor }

func (f recordingFactory) CreateProcessor() kcl.IRecordProcessor { return f.p }

// TestRawRecordsProcessorSeesStreamBytes: what the escaping client hands the KCL, the wrapped
// processor receives exactly as it was in the stream.
func TestRawRecordsProcessorSeesStreamBytes(t *testing.T) {
	stream := [][]byte{[]byte(`{"v":1}`), append(bytes.Clone(kplMagic), 1, 2, 3), append(bytes.Clone(rawEscape), 'x'), {}}
	in := &kcl.ProcessRecordsInput{}
	for _, d := range stream {
		in.Records = append(in.Records, types.Record{Data: escapeRecord(d)})
	}
	rec := &recordingProcessor{}
	rawRecordsFactory{recordingFactory{rec}}.CreateProcessor().ProcessRecords(in)
	if len(rec.got) != len(stream) {
		t.Fatalf("processor got %d records, want %d", len(rec.got), len(stream))
	}
	for i := range stream {
		if !bytes.Equal(rec.got[i], stream[i]) {
			t.Errorf("record %d: processor got %q, want %q", i, rec.got[i], stream[i])
		}
	}
}
