// Package processor is shardline's KCL record processor: for each shard it decodes envelopes,
// applies the per-object ledger rule (duplicates and stale events are dropped and counted), runs
// the handler, commits the ledger with a conditional write and checkpoints only records that are
// fully done. Every record ends applied, dropped as duplicate or stale, or dead-lettered with its
// reason; a record is never skipped because of a transient failure.
//
// The KCL notices a lost lease only between batches and never interrupts ProcessRecords, so the
// processor asks the checkpointer, before every side effect and every commit, whether this worker
// still owns the shard; as soon as it does not, it stops without committing or checkpointing and
// gives the shard up.
package processor
