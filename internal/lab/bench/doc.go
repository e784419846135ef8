// Package bench measures shardline side by side with its baselines on the local stack and on the
// real photos of Debian's mate-backgrounds, and prints one table with the targets of the
// performance issue next to the figures (`make bench`).
//
// Every row is measured in the same run on the same inputs as the rows it is compared with:
//
//   - image: megapixels per second per core (CPU time of single-threaded child processes) and
//     peak RSS (the children's rusage) for the straightforward imaging path, for ours
//     (grayscale.Convert) and for libjpeg-turbo's own tools;
//   - pipeline: events per second from forwarder.Writer through the stream and a worker to the
//     ledger with a no-op handler, next to plain PutRecords and GetRecords loops on the same
//     Kinesis server;
//   - concurrency: events per second on one shard with a 20 ms handler, serial and with the
//     default key concurrency;
//   - hot key: handler runs and time to converge for 100 updates of one object within a second;
//   - latency: object PUT to output present, through MinIO's real notifications, the webhook, a
//     forwarder and a worker running the real grayscale handler.
//
// Go micro-benchmarks (go test -bench) live next to the code they measure.
package bench
