// Package notification turns the bodies the forwarder receives into normalised envelope events.
//
// One body may be any of the shapes S3 and S3-compatible stores deliver, detected by structure
// rather than by configuration:
//
//   - an S3 event notification ({"Records":[{"eventSource":"aws:s3",...}]}), including the MinIO
//     webhook body ({"EventName":...,"Key":...,"Records":[{"eventSource":"minio:s3",...}]});
//   - the s3:TestEvent S3 sends when a notification configuration is saved;
//   - an Amazon EventBridge "Object Created" / "Object Deleted" event from source aws.s3;
//   - any of these wrapped by SQS (a Lambda SQS event whose record bodies hold the message) or by
//     SNS (a Lambda SNS event, or the SNS envelope {"Type":"Notification","Message":...} that SQS
//     receives from a topic), nested up to MaxDepth wrappers deep.
//
// Parse decodes object keys (S3 notifications URL-encode them with '+' for space; EventBridge
// carries them raw), maps event names to envelope.OpPut or envelope.OpDelete (delete markers and
// lifecycle expirations are deletes) and builds each event with envelope.New, which normalises the
// sequencer and derives the idempotency ID.
//
// Nothing is dropped silently: every record Parse recognises but does not turn into an event is
// returned as a Skip with a stable Reason, so the caller can count and log it. Parse returns an
// error, wrapping ErrMalformed, only when the body as a whole is not a notification it understands
// or exceeds a guard (MaxDepth, MaxRecords).
package notification
