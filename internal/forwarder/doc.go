// Package forwarder turns S3 object notifications into envelope records on a Kinesis stream.
//
// A Writer puts envelope.Events with PutRecords: it batches them within the request limits,
// retries only the records Kinesis did not accept (and whole calls that were throttled or hit a
// server error) with jittered exponential backoff until every record is in or a deadline passes,
// and otherwise returns a *NotForwardedError that says how many records did not get in; an error
// that retrying cannot fix (access denied, validation, a KMS key problem, for the call or for a
// record) ends it at once. It never drops an event silently. PutRecords does the same for records
// put as they are (redrive's dead letters) and says which did not get in.
// Concurrent Writes share PutRecords calls: while a call is in flight the next attempts wait and
// then go together in one call (no timer: a lone Write is sent at once), each Write answered as
// soon as its own records are in.
//
// A Forwarder bundles a Writer with a notification parser and serves two front ends: a webhook
// (Webhook, for MinIO and other S3-compatible servers, or SNS) and a Lambda entry point
// (HandleLambda, for S3, SQS-wrapped S3, SNS and EventBridge events). Both acknowledge a
// notification only after its events are in the stream, so a failure makes the source redeliver.
//
// Ordering: every event of one object has the same partition key, hence lands on one shard, but
// PutRecords does not preserve order across a partial failure and S3 does not deliver events in
// order in the first place. The worker orders the events of a key by their sequencer, so the
// forwarder does not need to (and does not) keep stream order across retries.
//
// Metrics (all registered on the injected prometheus.Registerer):
//
//	shardline_forwarder_records_forwarded_total          records Kinesis accepted
//	shardline_forwarder_put_records_retries_total        records re-sent after a failed attempt
//	shardline_forwarder_put_records_failed_total         records given up on (not in the stream)
//	shardline_forwarder_put_records_requests_total{result}  PutRecords calls: ok, partial, error
//	shardline_forwarder_put_records_call_records         histogram of records per PutRecords call
//	shardline_forwarder_events_skipped_total{reason}     events not forwarded as work, by reason
//	shardline_forwarder_events_refused_total{reason}     events refused: foreign_bucket, invalid_bucket
//	shardline_forwarder_sns_rejected_total{reason}       SNS messages that failed verification
//	shardline_forwarder_sns_verified_total{type}         SNS messages verified, by SNS type
//	shardline_forwarder_requests_total{result}           webhook requests and Lambda invocations
//	shardline_forwarder_malformed_total                  payloads that were not a notification
package forwarder
