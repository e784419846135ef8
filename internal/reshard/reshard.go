// Package reshard changes a stream's shard count: it splits a shard (at the middle of its
// hash-key range or at a given hash key), merges two adjacent shards, or scales the stream to N
// shards, with UpdateShardCount where the service has it and otherwise by a sequence of splits and
// merges that ends with N shards of equal ranges (what UpdateShardCount's UNIFORM_SCALING makes).
// After every change it waits until the stream is ACTIVE again.
//
// Workers need no restart: they list shards every --shard-sync-interval, take the children's
// leases, and process a child only after its parents reached SHARD_END.
package reshard

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/shardmap"
)

// Kinesis is the part of *kinesis.Client resharding uses.
type Kinesis interface {
	shardmap.Lister
	SplitShard(ctx context.Context, in *kinesis.SplitShardInput, optFns ...func(*kinesis.Options)) (*kinesis.SplitShardOutput, error)
	MergeShards(ctx context.Context, in *kinesis.MergeShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.MergeShardsOutput, error)
	UpdateShardCount(ctx context.Context, in *kinesis.UpdateShardCountInput, optFns ...func(*kinesis.Options)) (*kinesis.UpdateShardCountOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

// Defaults of Resharder's zero fields.
const (
	DefaultWait = 10 * time.Minute
	DefaultPoll = time.Second
)

// Resharder changes the shards of one stream.
type Resharder struct {
	Client Kinesis // required
	Stream string  // required
	// Wait bounds waiting for the stream to become ACTIVE after each change; default 10m.
	Wait time.Duration
	// Poll is how often the stream status is read while waiting; default 1s.
	Poll time.Duration
	// OnStep, when set, is told about every change as it completes (for progress output).
	OnStep func(Step)
}

// Method selects how Scale reaches its target.
type Method string

// Scale methods.
const (
	// Auto uses UpdateShardCount and falls back to Compose when the service does not have it
	// (kinesalite). Other UpdateShardCount refusals (limits) are returned, not worked around.
	Auto Method = "auto"
	// Update uses UpdateShardCount only.
	Update Method = "update"
	// Compose uses SplitShard and MergeShards only.
	Compose Method = "compose"
)

// Step is one change of the shard map.
type Step struct {
	Op string // "split", "merge" or "update"
	// Shards are the shard split, the two shards merged (lower hash keys first), or nothing
	// for "update".
	Shards []string
	// HashKey is where a split starts its upper child.
	HashKey *big.Int
	// Target is the shard count of an "update".
	Target int
	// Children are the shards the step created (known once it is done).
	Children []string
}

func (s Step) String() string {
	var out string
	switch s.Op {
	case "split":
		out = fmt.Sprintf("split %s at hash key %s", s.Shards[0], s.HashKey)
	case "merge":
		out = fmt.Sprintf("merge %s + %s", s.Shards[0], s.Shards[1])
	case "update":
		out = fmt.Sprintf("UpdateShardCount to %d (UNIFORM_SCALING)", s.Target)
	}
	if len(s.Children) > 0 {
		out += " → " + fmt.Sprint(s.Children)
	}
	return out
}

func (r *Resharder) validate() error {
	if r.Client == nil || r.Stream == "" {
		return errors.New("reshard: Client and Stream are required")
	}
	return nil
}

// Map reads the stream's shard map.
func (r *Resharder) Map(ctx context.Context) (shardmap.Map, error) {
	return shardmap.Read(ctx, r.Client, r.Stream)
}

// validMap validates r and reads the stream's shard map: how Split and Merge start.
func (r *Resharder) validMap(ctx context.Context) (shardmap.Map, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r.Map(ctx)
}

// Midpoint is where Split splits a shard by default: the first hash key of the upper half of its
// range. ok is false for a range of a single hash key.
func Midpoint(s shardmap.Shard) (*big.Int, bool) {
	size := new(big.Int).Sub(s.End, s.Start)
	if size.Sign() <= 0 {
		return nil, false
	}
	size.Add(size, big.NewInt(1))
	return size.Rsh(size, 1).Add(size, s.Start), true
}

// Split splits an open shard at hashKey (nil: Midpoint), waits for ACTIVE and returns the step
// with the children's IDs.
func (r *Resharder) Split(ctx context.Context, shardID string, hashKey *big.Int) (Step, error) {
	m, err := r.validMap(ctx)
	if err != nil {
		return Step{}, err
	}
	s, ok := m.Get(shardID)
	switch {
	case !ok:
		return Step{}, fmt.Errorf("stream %s has no shard %s", r.Stream, shardID)
	case !s.Open:
		return Step{}, fmt.Errorf("shard %s is closed (already split or merged)", shardID)
	}
	if hashKey == nil {
		if hashKey, ok = Midpoint(s); !ok {
			return Step{}, fmt.Errorf("shard %s covers a single hash key: it cannot be split", shardID)
		}
	} else if hashKey.Cmp(s.Start) <= 0 || hashKey.Cmp(s.End) > 0 {
		return Step{}, fmt.Errorf("hash key %s is not inside shard %s's range (%s, %s]", hashKey, shardID, s.Start, s.End)
	}
	return r.do(ctx, m, Step{Op: "split", Shards: []string{shardID}, HashKey: hashKey})
}

// Merge merges two adjacent open shards, waits for ACTIVE and returns the step with the child's
// ID.
func (r *Resharder) Merge(ctx context.Context, a, b string) (Step, error) {
	m, err := r.validMap(ctx)
	if err != nil {
		return Step{}, err
	}
	sa, okA := m.Get(a)
	sb, okB := m.Get(b)
	switch {
	case !okA || !okB:
		return Step{}, fmt.Errorf("stream %s has no shard %s", r.Stream, map[bool]string{true: b, false: a}[okA])
	case !sa.Open || !sb.Open:
		return Step{}, fmt.Errorf("only open shards can be merged (%s is %s, %s is %s)", a, state(sa), b, state(sb))
	case !shardmap.Adjacent(sa, sb):
		return Step{}, fmt.Errorf("shards %s and %s are not adjacent: their hash-key ranges do not touch", a, b)
	}
	if sb.Start.Cmp(sa.Start) < 0 {
		a, b = b, a
	}
	return r.do(ctx, m, Step{Op: "merge", Shards: []string{a, b}})
}

func state(s shardmap.Shard) string {
	if s.Open {
		return "open"
	}
	return "closed"
}

// Scale makes the stream have n open shards with equal hash-key ranges and returns the steps
// taken.
func (r *Resharder) Scale(ctx context.Context, n int, method Method) ([]Step, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("shard count %d: must be at least 1", n)
	}
	if method == "" {
		method = Auto
	}
	if method != Compose {
		m, err := r.Map(ctx)
		if err != nil {
			return nil, err
		}
		if uniform(m.Open(), n) {
			return nil, nil
		}
		step, err := r.do(ctx, m, Step{Op: "update", Target: n})
		switch {
		case err == nil:
			return []Step{step}, nil
		case method == Auto && unsupported(err):
			// kinesalite and some emulators: compose splits and merges instead.
		default:
			return nil, err
		}
	}
	var steps []Step
	for {
		m, err := r.Map(ctx)
		if err != nil {
			return steps, err
		}
		next, ok := NextStep(m.Open(), n)
		if !ok {
			return steps, nil
		}
		done, err := r.do(ctx, m, next)
		if err != nil {
			return steps, err
		}
		steps = append(steps, done)
	}
}

// unsupported reports whether err says the service has no such operation.
func unsupported(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "UnknownOperationException", "InvalidAction", "NotImplemented", "UnsupportedOperation":
		return true
	}
	return false
}

// do performs one step, waits for ACTIVE and fills in the children.
func (r *Resharder) do(ctx context.Context, before shardmap.Map, s Step) (Step, error) {
	var err error
	switch s.Op {
	case "split":
		_, err = r.Client.SplitShard(ctx, &kinesis.SplitShardInput{
			StreamName: aws.String(r.Stream), ShardToSplit: aws.String(s.Shards[0]), NewStartingHashKey: aws.String(s.HashKey.String()),
		})
	case "merge":
		_, err = r.Client.MergeShards(ctx, &kinesis.MergeShardsInput{
			StreamName: aws.String(r.Stream), ShardToMerge: aws.String(s.Shards[0]), AdjacentShardToMerge: aws.String(s.Shards[1]),
		})
	case "update":
		_, err = r.Client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
			StreamName: aws.String(r.Stream), TargetShardCount: aws.Int32(int32(s.Target)), ScalingType: types.ScalingTypeUniformScaling,
		})
	}
	if err != nil {
		return s, fmt.Errorf("%s: %w", s, err)
	}
	if err := r.WaitActive(ctx); err != nil {
		return s, err
	}
	after, err := r.Map(ctx)
	if err != nil {
		return s, err
	}
	for _, sh := range after {
		if _, existed := before.Get(sh.ID); !existed {
			s.Children = append(s.Children, sh.ID)
		}
	}
	if r.OnStep != nil {
		r.OnStep(s)
	}
	return s, nil
}

// WaitActive waits until the stream's status is ACTIVE, at most Wait.
func (r *Resharder) WaitActive(ctx context.Context) error {
	wait, poll := r.Wait, r.Poll
	if wait <= 0 {
		wait = DefaultWait
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		out, err := r.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(r.Stream)})
		switch {
		case err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive:
			return nil
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("describe stream %s: %w", r.Stream, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream %s not ACTIVE within %s: %w", r.Stream, wait, ctx.Err())
		case <-t.C:
		}
	}
}

// Boundaries are the first hash keys of ranges 2..n when the hash-key space is cut into n equal
// ranges: multiples of ⌊2^128/n⌋, as CreateStream lays out a new stream's shards (the last range
// takes the remainder).
func Boundaries(n int) []*big.Int {
	width := new(big.Int).Div(shardmap.HashSpace(), big.NewInt(int64(n)))
	out := make([]*big.Int, 0, n-1)
	for i := 1; i < n; i++ {
		out = append(out, new(big.Int).Mul(width, big.NewInt(int64(i))))
	}
	return out
}

// rangeOf is the index of the equal range (of n) that hash key k falls in.
func rangeOf(k *big.Int, bounds []*big.Int) int {
	i, _ := slices.BinarySearchFunc(bounds, k, func(b, k *big.Int) int { return b.Cmp(k) })
	if i < len(bounds) && bounds[i].Cmp(k) == 0 {
		return i + 1
	}
	return i
}

// uniform reports whether open already is n shards of the n equal ranges.
func uniform(open []shardmap.Shard, n int) bool {
	if len(open) != n {
		return false
	}
	bounds := Boundaries(n)
	for i, s := range open {
		if i > 0 && s.Start.Cmp(bounds[i-1]) != 0 {
			return false
		}
	}
	return true
}

// NextStep is the next change that brings the open shards (in hash-key order) closer to n equal
// ranges: first a split at every range boundary that lies inside a shard, then merges of adjacent
// shards within one range. ok is false when nothing is left to do. The steps never exceed what
// the final map needs: at most n-1 splits, and merges only inside one target range.
func NextStep(open []shardmap.Shard, n int) (Step, bool) {
	bounds := Boundaries(n)
	for _, s := range open {
		for _, b := range bounds {
			if b.Cmp(s.Start) > 0 && b.Cmp(s.End) <= 0 {
				return Step{Op: "split", Shards: []string{s.ID}, HashKey: new(big.Int).Set(b)}, true
			}
		}
	}
	for i := 0; i+1 < len(open); i++ {
		a, b := open[i], open[i+1]
		if shardmap.Adjacent(a, b) && rangeOf(a.Start, bounds) == rangeOf(b.Start, bounds) {
			return Step{Op: "merge", Shards: []string{a.ID, b.ID}}, true
		}
	}
	return Step{}, false
}

// Plan simulates Scale's composed steps on open without calling Kinesis (for --dry-run); the
// shards it would create are named "new-1", "new-2"…
func Plan(open []shardmap.Shard, n int) []Step {
	cur := slices.Clone(open)
	var steps []Step
	next := 0
	name := func() string { next++; return fmt.Sprintf("new-%d", next) }
	for len(steps) < 4*(len(open)+n) { // a bound far above what NextStep ever needs
		s, ok := NextStep(cur, n)
		if !ok {
			break
		}
		i := slices.IndexFunc(cur, func(x shardmap.Shard) bool { return x.ID == s.Shards[0] })
		switch s.Op {
		case "split":
			lo := shardmap.Shard{ID: name(), Parents: []string{cur[i].ID}, Start: cur[i].Start, End: new(big.Int).Sub(s.HashKey, big.NewInt(1)), Open: true}
			hi := shardmap.Shard{ID: name(), Parents: []string{cur[i].ID}, Start: s.HashKey, End: cur[i].End, Open: true}
			s.Children = []string{lo.ID, hi.ID}
			cur = slices.Replace(cur, i, i+1, lo, hi)
		case "merge":
			m := shardmap.Shard{ID: name(), Parents: []string{cur[i].ID, cur[i+1].ID}, Start: cur[i].Start, End: cur[i+1].End, Open: true}
			s.Children = []string{m.ID}
			cur = slices.Replace(cur, i, i+2, m)
		}
		steps = append(steps, s)
	}
	return steps
}
