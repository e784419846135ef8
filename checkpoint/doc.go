// Package checkpoint is shardline's implementation of the vmware-go-kcl-v2 Checkpointer: shard
// leases and checkpoints in the KCL's DynamoDB lease table, with the library's schema (ShardID,
// AssignedTo, LeaseTimeout, Checkpoint, ParentShardId, ClaimRequest), but with every write
// conditional:
//
//   - a lease is taken only when it is free, expired, or already ours, and renewed only while the
//     table still names us as owner (compare-and-set on owner and lease timeout);
//   - a checkpoint is written only while we own the lease and only forwards (an extra sortable
//     attribute, CheckpointOrder, makes "forwards" a DynamoDB string comparison);
//   - releasing a lease removes the owner only if it is still us;
//   - a write that failed with anything but a refused condition may have committed (a lost
//     response): its outcome is read back from the row, not assumed.
//
// The library acts on its in-memory shard status without checking it, so the Checkpointer keeps
// that status honest: it names this worker as owner only while one of this worker's shard
// consumers holds the lease, and its checkpoint is the row's (the library sets SHARD_END in
// memory before writing it, and never takes a shard whose status says SHARD_END again). A lease
// row left naming this worker with no consumer behind it is taken again, not left in limbo.
//
// The library's default checkpointer rewrites the whole item with an unconditional PutItem, so a
// worker that lost its lease could overwrite the new owner's lease and move its checkpoint back.
//
// The Checkpointer also tells the record processor, without I/O, whether this worker still holds
// a shard's lease (Owns), and lets the processor give a shard up (Revoke) so that the library
// stops the shard consumer at its next renewal.
package checkpoint
