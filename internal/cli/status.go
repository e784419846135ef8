package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/status"
	"github.com/shardline/shardline/internal/telemetry"
)

// statusOptions are the flags of status.
type statusOptions struct {
	watch, asJSON        bool
	interval, rateWindow time.Duration
	lagLimit             int
	metricsAddr          string
}

func statusFlags(fs *flag.FlagSet) Action {
	o := &statusOptions{}
	fs.BoolVar(&o.watch, "watch", false, "sample again every --interval until interrupted (adds processed records/s)")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "time between samples with --watch")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON (with --watch: one object per line)")
	fs.IntVar(&o.lagLimit, "lag-limit", status.DefaultLagLimit, "most records read per shard and sample to count lag and rates (-1: do not read the stream)")
	fs.DurationVar(&o.rateWindow, "rate-window", status.DefaultRateWindow, "arrivals over this window give the incoming records/s")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "with --watch: serve the samples as Prometheus gauges on this address (/metrics)")
	return Action{Check: o.check, Run: o.run}
}

func (o *statusOptions) check() error {
	if o.interval <= 0 {
		return errors.New("--interval must be positive")
	}
	if o.metricsAddr != "" && !o.watch {
		return errors.New("--metrics-addr needs --watch")
	}
	return nil
}

func (o *statusOptions) run(ctx context.Context, s *Session) error {
	leases, err := opsCheckpointer(s.Clients.DynamoDB, s.LeaseTable)
	if err != nil {
		return err
	}
	sampler, err := status.NewSampler(status.Config{
		Kinesis: s.Clients.Kinesis, Leases: leases, Stream: s.Stream, LagLimit: o.lagLimit, RateWindow: o.rateWindow,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	out := newStatusOutput(s.Env.Stdout, o.asJSON, o.watch)
	if !o.watch {
		r, err := sampler.Sample(ctx)
		if err != nil {
			return err
		}
		return out.write(r)
	}
	return o.watchStatus(ctx, s, sampler, out)
}

// watchStatus samples every --interval until ctx ends, printing each sample and, with
// --metrics-addr, serving the last one as Prometheus gauges.
func (o *statusOptions) watchStatus(ctx context.Context, s *Session, sampler *status.Sampler, out statusOutput) error {
	collector := status.NewCollector()
	g, gctx := errgroup.WithContext(ctx)
	serveCtx, stopServing := context.WithCancel(gctx)
	defer stopServing()
	if o.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collector)
		var ready telemetry.Readiness
		ready.Set(true)
		g.Go(func() error {
			err := telemetry.Serve(serveCtx, o.metricsAddr, telemetry.Mux(reg, &ready), s.Log)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		})
	}
	g.Go(func() error {
		defer stopServing()
		return sampler.Watch(gctx, o.interval, func(r status.Report) error {
			collector.Update(r)
			return out.write(r)
		})
	})
	return g.Wait()
}

// opsCheckpointer opens the lease table for the operations commands. Their worker ID never owns a
// lease: they only read, or rewind with conditional writes.
func opsCheckpointer(db checkpoint.DynamoDB, table string) (*checkpoint.Checkpointer, error) {
	return checkpoint.New(checkpoint.Config{Client: db, TableName: table, WorkerID: "shardline-ops"})
}
