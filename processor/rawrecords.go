package processor

import (
	"bytes"
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
)

// The KCL de-aggregates every record framed like a KPL aggregate (the magic 0xF3899AC2, a
// protobuf, its MD5) before the record processor sees it, and it does so unsafely: a protobuf
// that does not parse makes it drop the whole GetRecords batch, good records included, without
// a trace (the next checkpoint moves past them), and a partition key index out of range panics
// the process, which then crash-loops on the same record. Shardline writes one envelope per
// record and never aggregates, so such a record is foreign or hostile and must simply be
// dead-lettered like any other record that is not an envelope.
//
// So the KCL never sees the magic: GetRecords responses are rewritten so that a record starting
// with the magic, or with rawEscape itself, gets rawEscape in front; the record processor
// wrapper removes exactly one rawEscape again. The processor therefore sees every record
// exactly as it is in the stream. (Only polling consumers are covered; shardline does not use
// enhanced fan-out.)

// kplMagic starts every KPL aggregated record.
var kplMagic = []byte{0xf3, 0x89, 0x9a, 0xc2}

// rawEscape is put in front of records the KCL must not de-aggregate.
var rawEscape = []byte("\x00shardline:raw\x00")

// escapeRecord returns data with rawEscape in front if it starts with kplMagic or rawEscape,
// else data unchanged. unescapeRecord reverses it exactly.
func escapeRecord(data []byte) []byte {
	if bytes.HasPrefix(data, kplMagic) || bytes.HasPrefix(data, rawEscape) {
		return append(slices.Clip(rawEscape), data...)
	}
	return data
}

func unescapeRecord(data []byte) []byte {
	if bytes.HasPrefix(data, rawEscape) {
		return data[len(rawEscape):]
	}
	return data
}

// rawRecordsClient returns a copy of c whose GetRecords responses are escaped (see above).
func rawRecordsClient(c *kinesis.Client) *kinesis.Client {
	escape := middleware.InitializeMiddlewareFunc("shardline.EscapeAggregates",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if res, ok := out.Result.(*kinesis.GetRecordsOutput); ok && res != nil {
				for i := range res.Records {
					res.Records[i].Data = escapeRecord(res.Records[i].Data)
				}
			}
			return out, md, err
		})
	return kinesis.New(c.Options(), func(o *kinesis.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), func(s *middleware.Stack) error {
			return s.Initialize.Add(escape, middleware.After)
		})
	})
}

// rawRecordsFactory wraps a record processor factory so that its processors receive records
// unescaped, exactly as they are in the stream.
type rawRecordsFactory struct{ kcl.IRecordProcessorFactory }

func (f rawRecordsFactory) CreateProcessor() kcl.IRecordProcessor {
	return rawRecordsProcessor{f.IRecordProcessorFactory.CreateProcessor()}
}

type rawRecordsProcessor struct{ kcl.IRecordProcessor }

func (p rawRecordsProcessor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	for i := range in.Records {
		in.Records[i].Data = unescapeRecord(in.Records[i].Data)
	}
	p.IRecordProcessor.ProcessRecords(in)
}
