package notification

import (
	"encoding/json"
	"strconv"

	"github.com/shardline/shardline/internal/envelope"
)

// eventBridgeSource is the EventBridge source of S3 events.
const eventBridgeSource = "aws.s3"

// ebEvent is an S3 event as Amazon EventBridge delivers it. Its key is not URL-encoded.
type ebEvent struct {
	Version    string `json:"version"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Time       string `json:"time"`
	Detail     *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string      `json:"key"`
			Size      json.Number `json:"size"`
			ETag      string      `json:"etag"`
			VersionID string      `json:"version-id"`
			Sequencer string      `json:"sequencer"`
		} `json:"object"`
	} `json:"detail"`
}

// eventBridge turns one EventBridge event into an event or a skip. "Object Deleted" covers
// DeleteObject and lifecycle expiration, with or without a delete marker.
func (p *parser) eventBridge(data []byte, where string) {
	var ev ebEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		p.skip(ReasonInvalidRecord, where, "cannot decode EventBridge event: "+err.Error())
		return
	}
	if ev.Source != eventBridgeSource {
		p.skip(ReasonNotObjectEvent, where, "EventBridge event from source "+strconv.Quote(clip(ev.Source)))
		return
	}
	if ev.Version != "0" {
		p.skip(ReasonUnsupportedEventVersion, where, "EventBridge version "+strconv.Quote(clip(ev.Version)))
		return
	}
	var op string
	switch ev.DetailType {
	case "Object Created":
		op = envelope.OpPut
	case "Object Deleted":
		op = envelope.OpDelete
	default:
		p.skip(ReasonNotObjectEvent, where, "EventBridge detail-type "+strconv.Quote(clip(ev.DetailType)))
		return
	}
	if ev.Detail == nil {
		p.skip(ReasonInvalidRecord, where, "EventBridge "+ev.DetailType+" event without detail")
		return
	}
	obj := &ev.Detail.Object
	p.build(where, &object{
		source:    ev.Source,
		eventName: ev.DetailType,
		bucket:    ev.Detail.Bucket.Name,
		key:       obj.Key,
		op:        op,
		sequencer: obj.Sequencer,
		etag:      obj.ETag,
		versionID: obj.VersionID,
		size:      obj.Size,
		eventTime: ev.Time,
	})
}
