package grayscale

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shardline/shardline/internal/envelope"
)

// benchPhoto is a real 2560×1600 photo shipped by the MATE desktop backgrounds package.
const benchPhoto = "/usr/share/backgrounds/mate/nature/Garden.jpg"

func loadBenchPhoto(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(benchPhoto)
	if err != nil {
		b.Skipf("benchmark photo not available: %v", err)
	}
	return data
}

// benchStore serves one input and discards outputs, so the benchmark measures the handler.
type benchStore struct{ data []byte }

func (s benchStore) GetObject(_ context.Context, _ *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(s.data)), ContentLength: aws.Int64(int64(len(s.data))), ETag: aws.String(`"etag"`)}, nil
}

func (benchStore) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	_, err := io.Copy(io.Discard, in.Body)
	return &s3.PutObjectOutput{}, err
}

func (benchStore) DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return &s3.DeleteObjectOutput{}, nil
}

// HeadObject answers that the output does not exist, so every call converts.
func (benchStore) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, &types.NotFound{}
}

// BenchmarkGrayscaleJPEG runs the whole put path (read, check, decode, convert, encode, write to
// a discarding store) on a real photo. MB/s is input bytes.
func BenchmarkGrayscaleJPEG(b *testing.B) {
	data := loadBenchPhoto(b)
	h := newTestConverter(b, benchStore{data: data}, nil)
	ev := testEvent(b, envelope.OpPut, inBucket, "Garden.jpg")
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	info, err := checkImage(data, DefaultMaxPixels)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.Width*info.Height)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpx/s")
}

// BenchmarkGrayscaleJPEGStages splits BenchmarkGrayscaleJPEG into its CPU-bound stages to show
// where the time goes. MB/s is input bytes for every stage, so the stages are comparable.
func BenchmarkGrayscaleJPEGStages(b *testing.B) {
	data := loadBenchPhoto(b)
	ctx := context.Background()
	img, err := decodeImage(ctx, data, DefaultMaxPixels)
	if err != nil {
		b.Fatal(err)
	}
	gray, err := toGray(ctx, img)
	if err != nil {
		b.Fatal(err)
	}
	stages := []struct {
		name string
		run  func() error
	}{
		{name: "check", run: func() error { _, err := checkImage(data, DefaultMaxPixels); return err }},
		{name: "decode", run: func() error { _, err := decodeImage(ctx, data, DefaultMaxPixels); return err }},
		{name: "convert", run: func() error { _, err := toGray(ctx, img); return err }},
		{name: "encode", run: func() error { _, _, err := encodeImage(ctx, gray, "jpeg", DefaultJPEGQuality); return err }},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := st.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
