// Package checkpoint is shardline's implementation of the vmware-go-kcl-v2 Checkpointer: shard
// leases and checkpoints in the KCL's DynamoDB lease table, with the library's schema (ShardID,
// AssignedTo, LeaseTimeout, Checkpoint, ParentShardId, ClaimRequest), but with every write
// conditional:
//
//   - a lease is taken only when it is free, expired, or already ours, and renewed only while the
//     table still names us as owner (compare-and-set on owner and lease timeout);
//   - a checkpoint is written only while we own the lease and only forwards (an extra sortable
//     attribute, CheckpointOrder, makes "forwards" a DynamoDB string comparison);
//   - releasing a lease removes the owner only if it is still us.
//
// The library's default checkpointer rewrites the whole item with an unconditional PutItem, so a
// worker that lost its lease could overwrite the new owner's lease and move its checkpoint back.
//
// The Checkpointer also tells the record processor, without I/O, whether this worker still holds
// a shard's lease (Owns), and lets the processor give a shard up (Revoke) so that the library
// stops the shard consumer at its next renewal.
package checkpoint
