// Package replay puts the notifications of the forwarder Lambda's failure queue back on the
// stream, through the forwarder's own parse, allow-list and Kinesis writer (forwarder.Forward),
// and deletes a message only after every event of it is in the stream.
//
// The failure queue (infra/terraform: the Lambda's on-failure destination, also the dead-letter
// queue of the EventBridge rule) holds two kinds of message:
//
//   - an asynchronous invocation record, a JSON object whose requestPayload is the event the
//     function failed on (an S3 notification, SQS or SNS batch, EventBridge event), with
//     requestContext.condition saying why it gave up (RetriesExhausted, EventAgeExceeded);
//   - the event itself (an EventBridge delivery that failed, or a plain Lambda dead-letter
//     queue), with the reason in the ERROR_CODE message attribute.
//
// A message stays in the queue (it reappears after its visibility timeout) when it is not one of
// those, when its payload is not a notification, when an event of it is refused (a bucket that is
// invalid or not on the allow-list) or cannot be encoded, and when Kinesis does not take every
// event; the last stops the run, since every later message would fail the same way. Entries that
// are not work (test events, events without a sequencer) are counted as skipped, as the Lambda
// does; they do not keep a message. Replaying twice is harmless: an event's envelope ID is
// deterministic and the workers drop duplicates.
package replay
