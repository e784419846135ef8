package checkpoint_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/setup"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// clock is a settable clock shared by the checkpointers of one test.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// newCheckpointer returns a checkpointer of worker on the test's lease table, with a 10s lease,
// the test's clock, and whatever configure changes.
type newCheckpointer func(worker string, configure ...func(*checkpoint.Config)) *checkpoint.Checkpointer

// newTable creates a lease table on the local stack (the test is skipped without one).
func newTable(t *testing.T) (string, *clock, newCheckpointer) {
	t.Helper()
	return newTableVia(t, nil)
}

// newTableVia is newTable with the checkpointers' DynamoDB calls passed through wrap (nil: none).
func newTableVia(t *testing.T, wrap func(checkpoint.DynamoDB) checkpoint.DynamoDB) (string, *clock, newCheckpointer) {
	t.Helper()
	clients := emulators.Require(t)
	var client checkpoint.DynamoDB = clients.DynamoDB
	if wrap != nil {
		client = wrap(client)
	}
	table := emulators.Name(t, "leases")
	ctx := context.Background()
	if err := setup.Run(ctx, setup.Clients{DynamoDB: clients.DynamoDB}, setup.Config{LeaseTable: table}, discard()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	clk.now.Store(time.Now().UnixNano())
	return table, clk, func(worker string, configure ...func(*checkpoint.Config)) *checkpoint.Checkpointer {
		t.Helper()
		cfg := checkpoint.Config{
			Client: client, TableName: table, WorkerID: worker,
			LeaseDuration: 10 * time.Second, Now: clk.Now, Logger: discard(),
		}
		for _, f := range configure {
			f(&cfg)
		}
		cp, err := checkpoint.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Init(); err != nil {
			t.Fatal(err)
		}
		return cp
	}
}

func shard(id string) *par.ShardStatus { return &par.ShardStatus{ID: id, Mux: &sync.RWMutex{}} }

func checkpointAt(t *testing.T, cp *checkpoint.Checkpointer, s *par.ShardStatus, seq string) error {
	t.Helper()
	s.SetCheckpoint(seq)
	return cp.CheckpointSequence(s)
}

func stored(t *testing.T, cp *checkpoint.Checkpointer, id string) checkpoint.Lease {
	t.Helper()
	leases, err := cp.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.ShardID == id {
			return l
		}
	}
	t.Fatalf("no lease item for %s", id)
	return checkpoint.Lease{}
}

// mustTake takes the shard's lease for worker.
func mustTake(t *testing.T, cp *checkpoint.Checkpointer, s *par.ShardStatus, worker string) {
	t.Helper()
	if err := cp.GetLease(s, worker); err != nil {
		t.Fatalf("%s takes %s: %v", worker, s.ID, err)
	}
}
