package cli

import (
	"context"
	"flag"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/reshard"
	"github.com/shardline/shardline/internal/shardmap"
)

const reshardUsage = "reshard split --shard ID [--hash-key K] | merge --shard A --adjacent B | scale --target-shards N"

func runReshard(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("reshard", flag.ContinueOnError)
	var (
		c        common
		shard    string
		adjacent string
		hashKey  string
		target   int
		method   string
		dryRun   bool
		wait     time.Duration
	)
	c.register(fs, streamFlag)
	fs.StringVar(&shard, "shard", "", "split: the shard to split; merge: one of the two shards")
	fs.StringVar(&adjacent, "adjacent", "", "merge: the other shard (their hash-key ranges must touch)")
	fs.StringVar(&hashKey, "hash-key", "", "split: first hash key of the upper child (default: the middle of the shard's range)")
	fs.IntVar(&target, "target-shards", 0, "scale: the number of open shards wanted")
	fs.StringVar(&method, "method", string(reshard.Auto), "scale: auto (UpdateShardCount, else splits and merges), update or compose")
	fs.BoolVar(&dryRun, "dry-run", false, "scale: print the splits and merges that compose would make, change nothing")
	durationFlag(fs, &wait, "wait", reshard.DefaultWait, "bound on waiting for the stream to be ACTIVE after each change")
	verb := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if _, err := c.logger(env.Stderr); err != nil {
		return err
	}
	r := &reshard.Resharder{Stream: c.stream, Wait: wait, OnStep: func(s reshard.Step) {
		fmt.Fprintf(env.Stdout, "done: %s\n", s)
	}}
	switch verb {
	case "split":
		if shard == "" || adjacent != "" || target != 0 {
			return fmt.Errorf("%w: split takes --shard and optionally --hash-key", errUsage)
		}
	case "merge":
		if shard == "" || adjacent == "" || hashKey != "" || target != 0 {
			return fmt.Errorf("%w: merge takes --shard and --adjacent", errUsage)
		}
	case "scale":
		if target < 1 || shard != "" || adjacent != "" || hashKey != "" {
			return fmt.Errorf("%w: scale takes --target-shards N (N ≥ 1)", errUsage)
		}
		switch reshard.Method(method) {
		case reshard.Auto, reshard.Update, reshard.Compose:
		default:
			return fmt.Errorf("%w: --method must be auto, update or compose", errUsage)
		}
	case "":
		return fmt.Errorf("%w: %s", errUsage, reshardUsage)
	default:
		return fmt.Errorf("%w: unknown reshard action %q: %s", errUsage, verb, reshardUsage)
	}
	var key *big.Int
	if hashKey != "" {
		var ok bool
		if key, ok = new(big.Int).SetString(hashKey, 10); !ok || key.Sign() < 0 || key.Cmp(shardmap.HashSpace()) >= 0 {
			return fmt.Errorf("%w: --hash-key %q is not a hash key (a decimal number below 2^128)", errUsage, hashKey)
		}
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	r.Client = clients.Kinesis
	switch verb {
	case "split":
		_, err = r.Split(ctx, shard, key)
	case "merge":
		_, err = r.Merge(ctx, shard, adjacent)
	case "scale":
		if dryRun {
			m, err := r.Map(ctx)
			if err != nil {
				return err
			}
			steps := reshard.Plan(m.Open(), target)
			fmt.Fprintf(env.Stdout, "plan: %d open shards → %d (%s; new shards are named new-1, new-2… here)\n", len(m.Open()), target, opsPlural(len(steps), "step"))
			for _, s := range steps {
				fmt.Fprintf(env.Stdout, "  %s\n", s)
			}
			return reshard.WriteMap(env.Stdout, m)
		}
		var steps []reshard.Step
		steps, err = r.Scale(ctx, target, reshard.Method(method))
		if err == nil && len(steps) == 0 {
			fmt.Fprintf(env.Stdout, "already %d open shards of equal ranges: nothing to do\n", target)
		}
	}
	if err != nil {
		return err
	}
	m, err := r.Map(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "stream %s is ACTIVE; shard map:\n", c.stream)
	return reshard.WriteMap(env.Stdout, m)
}
