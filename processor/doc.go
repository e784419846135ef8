// Package processor is shardline's worker library: bring a Handler, call Run, and get S3 object
// events from a Kinesis stream in order per object, with duplicates and stale events dropped,
// leases and checkpoints in DynamoDB, dead letters, metrics and a graceful shutdown.
//
//	err := processor.Run(ctx, processor.Config{
//		Kinesis: kinesis.NewFromConfig(awsCfg), DynamoDB: dynamodb.NewFromConfig(awsCfg),
//		Region: "eu-west-1", StreamName: "shardline-events", WorkerID: hostname,
//		LeaseTable: "shardline-leases", LedgerTable: "shardline-ledger", DeadLetterTable: "shardline-dead-letters",
//		Handler: processor.HandlerFunc(func(ctx context.Context, ev processor.Event) error {
//			// Converge the output of ev.Bucket/ev.Key to the input's current state.
//			return nil
//		}),
//	})
//
// A Handler converges an object's output to the input's current state; the event only says which
// object to look at and orders the calls (see Handler). Return Permanent(reason, err) for what
// retrying cannot fix (the record is dead-lettered with that reason); any other error, or one
// marked with Transient, is retried with backoff. A Handler that also implements Verifier lets
// the worker find and repair late writes after a lost lease or a lost response.
//
// How it works: for each shard the worker decodes the envelopes (docs/envelope.md), applies the
// per-object ledger rule (duplicates and stale events are dropped and counted), runs the handler,
// commits the ledger with a conditional write and checkpoints only records that are fully done.
// Every record ends applied, dropped as duplicate, stale or superseded, or dead-lettered with its
// reason; a record is never skipped because of a transient failure. The KCL notices a lost lease
// only between batches and never interrupts ProcessRecords, so the processor asks the
// checkpointer, before every side effect and every commit, whether this worker still owns the
// shard; as soon as it does not, it stops without committing or checkpointing and gives the
// shard up. The stream and the tables are made by `shardline setup` (or infra/terraform).
package processor
