package notification

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// s3Entity is the "s3" member of an S3 event record (AWS and S3-compatible stores alike).
type s3Entity struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string      `json:"key"`
		Size      json.Number `json:"size"`
		ETag      string      `json:"eTag"`
		VersionID string      `json:"versionId"`
		Sequencer string      `json:"sequencer"`
	} `json:"object"`
}

// s3Record turns one S3 event record into an event or a skip. AWS and MinIO URL-encode the key
// (query encoding: '+' for space, MinIO also '/' as %2F); MinIO prefixes eventName with "s3:".
func (p *parser) s3Record(rec *record, where string) {
	if !supportedEventVersion(rec.EventVersion) {
		p.skip(ReasonUnsupportedEventVersion, where, "eventVersion "+strconv.Quote(clip(rec.EventVersion)))
		return
	}
	name := strings.TrimPrefix(rec.EventName, "s3:")
	op, reason := classify(name)
	if reason != "" {
		p.skip(reason, where, "eventName "+strconv.Quote(clip(rec.EventName)))
		return
	}
	obj := &rec.S3.Object
	key, err := url.QueryUnescape(obj.Key)
	if err != nil {
		p.skip(ReasonInvalidKey, where, "key "+strconv.Quote(clipN(obj.Key, 3*1024))+": "+err.Error())
		return
	}
	if !utf8.ValidString(key) {
		p.skip(ReasonInvalidKey, where, "key "+strconv.Quote(clipN(obj.Key, 3*1024))+" does not decode to UTF-8")
		return
	}
	source := rec.EventSource
	if source == "" {
		source = "s3"
	}
	p.build(where, &object{
		source:    source,
		eventName: name,
		bucket:    rec.S3.Bucket.Name,
		key:       key,
		op:        op,
		sequencer: obj.Sequencer,
		etag:      obj.ETag,
		versionID: obj.VersionID,
		size:      obj.Size,
		eventTime: rec.EventTime,
	})
}
