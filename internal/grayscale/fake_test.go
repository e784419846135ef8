package grayscale

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// storedObject is one object in fakeStore.
type storedObject struct {
	data        []byte
	etag        string // quoted, as S3 returns it
	versionID   string
	contentType string
	meta        map[string]string
}

// fakeStore is an in-memory ObjectStore. Errors set in getErr/putErr/deleteErr are returned by
// the corresponding call; reads counts Read calls on the bodies GetObject returned.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]storedObject // by bucket + "/" + key

	getErr, putErr, deleteErr, headErr error
	// beforeWrite, when set, runs at the start of PutObject and DeleteObject (before the
	// condition is checked), without the lock: a hook for another writer to land first.
	beforeWrite func()
	hideLength  bool                      // GetObject reports no ContentLength
	wrapBody    func(io.Reader) io.Reader // wraps GetObject bodies, e.g. to cancel mid-read

	reads                      atomic.Int64
	gets, puts, deletes, heads atomic.Int64
	refused                    atomic.Int64 // conditional writes refused
}

func newFakeStore() *fakeStore { return &fakeStore{objects: map[string]storedObject{}} }

func (f *fakeStore) add(bucket, key string, data []byte, versionID string) storedObject {
	sum := md5.Sum(data)
	obj := storedObject{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, versionID: versionID}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[bucket+"/"+key] = obj
	return obj
}

func (f *fakeStore) get(bucket, key string) (storedObject, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, ok := f.objects[bucket+"/"+key]
	return obj, ok
}

// begin counts a call in calls and returns the error the call fails with before it does
// anything: ctx's, or the injected one (nil for none).
func begin(ctx context.Context, calls *atomic.Int64, injected error) error {
	calls.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	return injected
}

func (f *fakeStore) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if in.VersionId != nil {
		panic("the handler must read the current object, not a version")
	}
	if err := begin(ctx, &f.gets, f.getErr); err != nil {
		return nil, err
	}
	obj, ok := f.get(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if !ok {
		return nil, sdkError("GetObject", http.StatusNotFound, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")})
	}
	var body io.Reader = &countingReader{r: bytes.NewReader(obj.data), n: &f.reads}
	if f.wrapBody != nil {
		body = f.wrapBody(body)
	}
	out := &s3.GetObjectOutput{Body: io.NopCloser(body), ETag: aws.String(obj.etag)}
	if !f.hideLength {
		out.ContentLength = aws.Int64(int64(len(obj.data)))
	}
	if obj.versionID != "" {
		out.VersionId = aws.String(obj.versionID)
	}
	return out, nil
}

func (f *fakeStore) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := begin(ctx, &f.puts, f.putErr); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	if f.beforeWrite != nil {
		f.beforeWrite()
	}
	f.mu.Lock()
	cur, exists := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	f.mu.Unlock()
	switch {
	case in.IfNoneMatch != nil && exists, in.IfMatch != nil && exists && cur.etag != *in.IfMatch:
		f.refused.Add(1)
		return nil, sdkError("PutObject", http.StatusPreconditionFailed, genericErr("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
	case in.IfMatch != nil && !exists:
		f.refused.Add(1)
		return nil, sdkError("PutObject", http.StatusNotFound, &types.NoSuchKey{})
	}
	if in.ContentLength != nil && *in.ContentLength != int64(len(data)) {
		panic("PutObject ContentLength does not match the body")
	}
	obj := f.add(aws.ToString(in.Bucket), aws.ToString(in.Key), data, "")
	obj.contentType = aws.ToString(in.ContentType)
	obj.meta = maps.Clone(in.Metadata)
	f.mu.Lock()
	f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = obj
	f.mu.Unlock()
	return &s3.PutObjectOutput{ETag: aws.String(obj.etag)}, nil
}

func (f *fakeStore) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := begin(ctx, &f.deletes, f.deleteErr); err != nil {
		return nil, err
	}
	if f.beforeWrite != nil {
		f.beforeWrite()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]; ok && in.IfMatch != nil && cur.etag != *in.IfMatch {
		f.refused.Add(1)
		return nil, sdkError("DeleteObject", http.StatusPreconditionFailed, genericErr("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
	}
	delete(f.objects, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)) // S3 deletes are idempotent
	return &s3.DeleteObjectOutput{}, nil
}

func (f *fakeStore) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := begin(ctx, &f.heads, f.headErr); err != nil {
		return nil, err
	}
	obj, ok := f.get(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if !ok {
		return nil, sdkError("HeadObject", http.StatusNotFound, &types.NotFound{})
	}
	out := &s3.HeadObjectOutput{ETag: aws.String(obj.etag), Metadata: maps.Clone(obj.meta), ContentLength: aws.Int64(int64(len(obj.data)))}
	if obj.versionID != "" {
		out.VersionId = aws.String(obj.versionID)
	}
	return out, nil
}

// countingReader counts Read calls.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(1)
	return c.r.Read(p)
}

// sdkError wraps apiErr the way aws-sdk-go-v2 returns service errors: an OperationError around
// an awshttp.ResponseError (which embeds *smithyhttp.ResponseError with the HTTP status).
func sdkError(op string, status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			RequestID: "TESTREQUEST",
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
		},
	}
}

func genericErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// testEvent returns a valid event for bucket/key.
func testEvent(t testing.TB, op, bucket, key string) processor.Event {
	t.Helper()
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", bucket, key, op, "0055AED6DCD90281E5", "", "", 0, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("envelope.New: %v", err)
	}
	return processor.Event(ev)
}

// gradient returns a w×h opaque colour gradient.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: uint8(255 - 255*x/w), A: 255})
		}
	}
	return img
}

// translucentGradient is gradient with alpha varying along y.
func translucentGradient(w, h int) *image.NRGBA {
	img := gradient(w, h)
	for y := range h {
		for x := range w {
			img.Pix[img.PixOffset(x, y)+3] = uint8(255 * y / h)
		}
	}
	return img
}

// encoded returns what write writes, failing t if it fails.
func encoded(t testing.TB, format string, write func(io.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatalf("encoding %s: %v", format, err)
	}
	return buf.Bytes()
}

// encoder returns a test helper that encodes an image as format with encode, failing t if it
// fails.
func encoder(format string, encode func(io.Writer, image.Image) error) func(testing.TB, image.Image) []byte {
	return func(t testing.TB, img image.Image) []byte {
		t.Helper()
		return encoded(t, format, func(w io.Writer) error { return encode(w, img) })
	}
}

var (
	encodeJPEG = encoder("jpeg", func(w io.Writer, img image.Image) error { return jpeg.Encode(w, img, &jpeg.Options{Quality: 90}) })
	encodePNG  = encoder("png", png.Encode)
	encodeGIF  = encoder("gif", func(w io.Writer, img image.Image) error { return gif.Encode(w, img, nil) })
	encodeBMP  = encoder("bmp", bmp.Encode)
	encodeTIFF = encoder("tiff", func(w io.Writer, img image.Image) error { return tiff.Encode(w, img, nil) })
)

// pngHeader returns a PNG made of the signature, an IHDR chunk (8-bit RGBA) declaring w×h with
// a valid CRC, and IEND: what a decompression bomb looks like before its pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // bit depth 8, colour type RGBA; compression, filter, interlace 0
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// gifHeader returns a GIF header declaring a w×h logical screen and no frames.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0, 0x3b) // no colour table, background, aspect; trailer
}

// tiffWithDims returns a copy of a TIFF written by encodeTIFF whose ImageWidth and ImageLength
// tags (SHORT values in the first IFD) claim w×h.
func tiffWithDims(t testing.TB, data []byte, w, h uint16) []byte {
	t.Helper()
	data = bytes.Clone(data)
	order := binary.ByteOrder(binary.LittleEndian)
	if string(data[:2]) == "MM" {
		order = binary.BigEndian
	}
	ifd := order.Uint32(data[4:8])
	n := int(order.Uint16(data[ifd:]))
	patched := 0
	for i := range n {
		e := data[int(ifd)+2+12*i:]
		tag, typ := order.Uint16(e[0:]), order.Uint16(e[2:])
		if typ != 3 {
			continue
		}
		switch tag {
		case 256:
			order.PutUint16(e[8:], w)
			patched++
		case 257:
			order.PutUint16(e[8:], h)
			patched++
		}
	}
	if patched != 2 {
		t.Fatalf("tiffWithDims: found %d of the 2 dimension tags", patched)
	}
	return data
}

// bmpHeader returns a 24-bit BMP file and info header declaring w×h and no pixel data.
func bmpHeader(w, h int32) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54) // file size
	b = binary.LittleEndian.AppendUint32(b, 0)  // reserved
	b = binary.LittleEndian.AppendUint32(b, 54) // pixel data offset
	b = binary.LittleEndian.AppendUint32(b, 40) // BITMAPINFOHEADER
	b = binary.LittleEndian.AppendUint32(b, uint32(w))
	b = binary.LittleEndian.AppendUint32(b, uint32(h))
	b = binary.LittleEndian.AppendUint16(b, 1)  // planes
	b = binary.LittleEndian.AppendUint16(b, 24) // bits per pixel
	return append(b, make([]byte, 24)...)       // no compression, sizes, resolution, colours
}

// webpVP8XHeader returns a WebP extended-format header declaring a w×h canvas (w, h <= 1<<24).
func webpVP8XHeader(w, h uint32) []byte {
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, 4+8+10)
	b = append(b, "WEBPVP8X"...)
	b = binary.LittleEndian.AppendUint32(b, 10)
	b = append(b, 0, 0, 0, 0) // flags, reserved
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	return append(b, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
}
