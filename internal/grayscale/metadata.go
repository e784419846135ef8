package grayscale

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/shardline/shardline/processor"
)

// S3 user-metadata names (lower case, without the x-amz-meta- prefix) written on every output
// object. Together they name the exact input content the output was derived from.
const (
	// MetaSourceETag holds the ETag, without quotes, of the input bytes that were read.
	MetaSourceETag = "source-etag"
	// MetaSourceSequencer holds the normalised sequencer of the event that wrote the output.
	MetaSourceSequencer = "source-sequencer"
	// MetaSourceKey holds SourceKeyValue(bucket, key) of the input.
	MetaSourceKey = "source-key"
	// MetaSourceVersionID holds the version ID of the input bytes that were read; it is absent
	// when the input bucket is not versioned.
	MetaSourceVersionID = "source-version-id"
	// MetaRendition names how the output was made (handler version and the settings that change
	// its bytes). An output is left alone as already converged only if it was made from the
	// input's current content with the same rendition, so a reprocess after a settings change
	// re-renders it.
	MetaRendition = "rendition"
)

// renditionVersion changes whenever the conversion changes its output for the same input.
const renditionVersion = "grayscale-1"

// maxSourceKeyValue bounds the MetaSourceKey value. S3 allows 2 KB of user metadata in total
// (UTF-8 bytes of names plus values) and escaping can triple a 1,024-byte key, so longer values
// are replaced by a hash. 1,536 bytes holds any unescaped bucket/key (at most 63 + 3 + 1,024
// bytes) and leaves about 500 bytes for the other entries (under 200 in practice).
const maxSourceKeyValue = 1536

// SourceKeyValue is the MetaSourceKey value for an input object: url.PathEscape(bucket + "/" +
// key), which is ASCII as S3 metadata must be and which url.PathUnescape reverses exactly. When
// that escaped form is longer than 1,536 bytes it is "sha256:" followed by the lower-case hex
// SHA-256 of bucket + "/" + key instead. Verifiers compare against this function's result.
func SourceKeyValue(bucket, key string) string {
	id := bucket + "/" + key
	if v := url.PathEscape(id); len(v) <= maxSourceKeyValue {
		return v
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// trimETag returns an ETag without its surrounding double quotes.
func trimETag(etag string) string {
	return strings.TrimSuffix(strings.TrimPrefix(etag, `"`), `"`)
}

// outputMetadata is the metadata of the output derived from ev's object as read with etag
// (unquoted) and versionID, either of which may be empty.
func (h *Converter) outputMetadata(ev processor.Event, etag, versionID string) map[string]string {
	meta := map[string]string{
		MetaSourceSequencer: ev.Sequencer,
		MetaSourceKey:       SourceKeyValue(ev.Bucket, ev.Key),
		MetaRendition:       h.rendition(),
	}
	if etag != "" {
		meta[MetaSourceETag] = etag
	}
	if versionID != "" {
		meta[MetaSourceVersionID] = versionID
	}
	return meta
}

// rendition is the MetaRendition value of the outputs this Converter writes.
func (h *Converter) rendition() string {
	return fmt.Sprintf("%s q%d", renditionVersion, h.cfg.JPEGQuality)
}
