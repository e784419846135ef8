// Package shardmap reads a Kinesis stream's shard map: every shard with its hash-key range, its
// parents and whether it is still open, in hash-key order. The operations commands (status,
// reshard, reprocess) all start from it.
package shardmap

import (
	"context"
	"fmt"
	"math/big"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Lister is the part of *kinesis.Client the map is read with.
type Lister interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// hashSpace is the number of partition-key hash values, 2^128. Never modified: HashSpace hands
// out copies.
var hashSpace = new(big.Int).Lsh(big.NewInt(1), 128)

// HashSpace returns the number of partition-key hash values, 2^128 (hash keys are 0 to
// HashSpace()-1): a shard's share of the stream is its range size divided by it. Each call
// returns a new value, which the caller may modify.
func HashSpace() *big.Int { return new(big.Int).Set(hashSpace) }

// Shard is one shard of the stream.
type Shard struct {
	ID string
	// Parents are ParentShardId and, after a merge, AdjacentParentShardId (those that are set).
	Parents []string
	// Start and End are the inclusive hash-key range.
	Start, End *big.Int
	// Open is false once the shard was split or merged away (it has an ending sequence number).
	Open bool
	// StartingSequence is the sequence number of the shard's first possible record.
	StartingSequence string
}

// Share is the fraction of the hash-key space the shard covers (0..1).
func (s Shard) Share() float64 {
	n := new(big.Int).Sub(s.End, s.Start)
	n.Add(n, big.NewInt(1))
	f, _ := new(big.Rat).SetFrac(n, hashSpace).Float64()
	return f
}

// Map is a stream's shards, open and closed, sorted by starting hash key and then by ID.
type Map []Shard

// List returns every shard of stream that Kinesis still reports (closed shards stay listed until
// they pass the retention period), as ListShards answers them, following NextToken. It is the
// one ListShards pager of the project (the SDK has none: a request carries either StreamName or
// NextToken, never both).
func List(ctx context.Context, c Lister, stream string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// Read lists every shard of stream that Kinesis still reports (see List) as a Map.
func Read(ctx context.Context, c Lister, stream string) (Map, error) {
	shards, err := List(ctx, c, stream)
	if err != nil {
		return nil, err
	}
	m := make(Map, 0, len(shards))
	for _, s := range shards {
		sh, err := fromAPI(s)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		m = append(m, sh)
	}
	m.sort()
	return m, nil
}

func fromAPI(s types.Shard) (Shard, error) {
	id := aws.ToString(s.ShardId)
	sh := Shard{ID: id, Open: true}
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if v := aws.ToString(p); v != "" {
			sh.Parents = append(sh.Parents, v)
		}
	}
	if s.SequenceNumberRange != nil {
		sh.Open = s.SequenceNumberRange.EndingSequenceNumber == nil
		sh.StartingSequence = aws.ToString(s.SequenceNumberRange.StartingSequenceNumber)
	}
	var ok1, ok2 bool
	if s.HashKeyRange != nil {
		sh.Start, ok1 = new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		sh.End, ok2 = new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
	}
	if !ok1 || !ok2 || sh.Start.Cmp(sh.End) > 0 {
		return Shard{}, fmt.Errorf("shard %s has no valid hash-key range", id)
	}
	return sh, nil
}

func (m Map) sort() {
	sort.SliceStable(m, func(i, j int) bool {
		if c := m[i].Start.Cmp(m[j].Start); c != 0 {
			return c < 0
		}
		return m[i].ID < m[j].ID
	})
}

// Open returns the open shards in hash-key order.
func (m Map) Open() []Shard {
	var open []Shard
	for _, s := range m {
		if s.Open {
			open = append(open, s)
		}
	}
	return open
}

// Get returns the shard with id.
func (m Map) Get(id string) (Shard, bool) {
	for _, s := range m {
		if s.ID == id {
			return s, true
		}
	}
	return Shard{}, false
}

// Descendants returns the IDs of every shard that descends from id (children, their children…),
// in map order.
func (m Map) Descendants(id string) []string {
	below := map[string]bool{id: true}
	for changed := true; changed; {
		changed = false
		for _, s := range m {
			if below[s.ID] {
				continue
			}
			for _, p := range s.Parents {
				if below[p] {
					below[s.ID], changed = true, true
					break
				}
			}
		}
	}
	var out []string
	for _, s := range m {
		if s.ID != id && below[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

// Adjacent reports whether two shards' hash-key ranges touch (a ends right before b starts, or
// the other way round).
func Adjacent(a, b Shard) bool {
	one := big.NewInt(1)
	return new(big.Int).Add(a.End, one).Cmp(b.Start) == 0 || new(big.Int).Add(b.End, one).Cmp(a.Start) == 0
}
