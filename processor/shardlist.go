package processor

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
)

// cachedShardList returns a copy of c whose ListShards of the whole stream is answered from t's
// listing while it is younger than t.maxAge (the shard-sync interval), and otherwise asks Kinesis
// and keeps the answer in t.
//
// The KCL lists the shards at the start of every event-loop pass, and it takes at most one lease
// a pass; shardline runs passes every LeasePassInterval (a fraction of a second) so that released,
// expired and fair-share leases are taken within a second or two, while Kinesis is still asked
// for the shard list only every ShardSyncInterval. The middleware goes before every other one, so
// that answers from the listing are not recorded as a shard sync (see observedKinesis): Health
// counts only Kinesis' own answers.
func cachedShardList(c *kinesis.Client, t *topology) *kinesis.Client {
	cache := middleware.InitializeMiddlewareFunc("shardline.CachedShardList",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			req, ok := in.Parameters.(*kinesis.ListShardsInput)
			if !ok || req.NextToken != nil || aws.ToString(req.StreamName) != t.stream || req.ShardFilter != nil || req.ExclusiveStartShardId != nil {
				return next.HandleInitialize(ctx, in)
			}
			if shards, fresh := t.fresh(); fresh {
				return middleware.InitializeOutput{Result: &kinesis.ListShardsOutput{Shards: shards}}, middleware.Metadata{}, nil
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if res, ok := out.Result.(*kinesis.ListShardsOutput); ok && err == nil && res != nil && res.NextToken == nil {
				t.store(res.Shards)
			}
			return out, md, err
		})
	return kinesis.New(c.Options(), func(o *kinesis.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), func(s *middleware.Stack) error {
			return s.Initialize.Add(cache, middleware.Before)
		})
	})
}
