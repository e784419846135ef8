package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/reshard"
	"github.com/shardline/shardline/internal/shardmap"
)

const reshardUsage = "reshard split --shard ID [--hash-key K] | merge --shard A --adjacent B | scale --target-shards N"

// reshardOptions are the verb and the flags of reshard, and the hash key check parses.
type reshardOptions struct {
	verb, shard, adjacent, hashKey, method string
	target                                 int
	dryRun                                 bool
	wait                                   time.Duration
	key                                    *big.Int
}

// runReshard takes the verb (split, merge or scale) off the arguments, then runs the command.
func runReshard(ctx context.Context, env *Env, args []string) error {
	o := &reshardOptions{}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.verb, args = args[0], args[1:]
	}
	return Command{Name: "reshard", Shared: AWS | Stream, Flags: o.flags}.run(ctx, env, args)
}

func (o *reshardOptions) flags(fs *flag.FlagSet) Action {
	fs.StringVar(&o.shard, "shard", "", "split: the shard to split; merge: one of the two shards")
	fs.StringVar(&o.adjacent, "adjacent", "", "merge: the other shard (their hash-key ranges must touch)")
	fs.StringVar(&o.hashKey, "hash-key", "", "split: first hash key of the upper child (default: the middle of the shard's range)")
	fs.IntVar(&o.target, "target-shards", 0, "scale: the number of open shards wanted")
	fs.StringVar(&o.method, "method", string(reshard.Auto), "scale: auto (UpdateShardCount, else splits and merges), update or compose")
	fs.BoolVar(&o.dryRun, "dry-run", false, "scale: print the splits and merges that compose would make, change nothing")
	fs.DurationVar(&o.wait, "wait", reshard.DefaultWait, "bound on waiting for the stream to be ACTIVE after each change")
	return Action{Check: o.check, Run: o.run}
}

func (o *reshardOptions) check() error {
	switch o.verb {
	case "split":
		if o.shard == "" || o.adjacent != "" || o.target != 0 {
			return errors.New("split takes --shard and optionally --hash-key")
		}
	case "merge":
		if o.shard == "" || o.adjacent == "" || o.hashKey != "" || o.target != 0 {
			return errors.New("merge takes --shard and --adjacent")
		}
	case "scale":
		if o.target < 1 || o.shard != "" || o.adjacent != "" || o.hashKey != "" {
			return errors.New("scale takes --target-shards N (N ≥ 1)")
		}
		switch reshard.Method(o.method) {
		case reshard.Auto, reshard.Update, reshard.Compose:
		default:
			return errors.New("--method must be auto, update or compose")
		}
	case "":
		return errors.New(reshardUsage)
	default:
		return fmt.Errorf("unknown reshard action %q: %s", o.verb, reshardUsage)
	}
	if o.hashKey != "" {
		var ok bool
		if o.key, ok = new(big.Int).SetString(o.hashKey, 10); !ok || o.key.Sign() < 0 || o.key.Cmp(shardmap.HashSpace()) >= 0 {
			return fmt.Errorf("--hash-key %q is not a hash key (a decimal number below 2^128)", o.hashKey)
		}
	}
	return nil
}

func (o *reshardOptions) run(ctx context.Context, s *Session) error {
	out := reshardOutput{w: s.Env.Stdout}
	r := &reshard.Resharder{Client: s.Clients.Kinesis, Stream: s.Stream, Wait: o.wait, OnStep: out.step}
	var err error
	switch o.verb {
	case "split":
		_, err = r.Split(ctx, o.shard, o.key)
	case "merge":
		_, err = r.Merge(ctx, o.shard, o.adjacent)
	case "scale":
		if o.dryRun {
			m, err := r.Map(ctx)
			if err != nil {
				return err
			}
			return out.plan(m, o.target, reshard.Plan(m.Open(), o.target))
		}
		var steps []reshard.Step
		if steps, err = r.Scale(ctx, o.target, reshard.Method(o.method)); err == nil && len(steps) == 0 {
			out.nothingToDo(o.target)
		}
	}
	if err != nil {
		return err
	}
	m, err := r.Map(ctx)
	if err != nil {
		return err
	}
	return out.result(s.Stream, m)
}
