package cli

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/status"
	"github.com/shardline/shardline/internal/telemetry"
)

func runStatus(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var (
		c           common
		watch       bool
		asJSON      bool
		interval    time.Duration
		lagLimit    int
		rateWindow  time.Duration
		metricsAddr string
	)
	c.register(fs, streamFlag)
	leaseTableFlag(fs, &c)
	fs.BoolVar(&watch, "watch", false, "sample again every --interval until interrupted (adds processed records/s)")
	durationFlag(fs, &interval, "interval", 5*time.Second, "time between samples with --watch")
	fs.BoolVar(&asJSON, "json", false, "print JSON (with --watch: one object per line)")
	fs.IntVar(&lagLimit, "lag-limit", status.DefaultLagLimit, "most records read per shard and sample to count lag and rates (-1: do not read the stream)")
	durationFlag(fs, &rateWindow, "rate-window", status.DefaultRateWindow, "arrivals over this window give the incoming records/s")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "with --watch: serve the samples as Prometheus gauges on this address (/metrics)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if interval <= 0 {
		return fmt.Errorf("%w: --interval must be positive", errUsage)
	}
	if metricsAddr != "" && !watch {
		return fmt.Errorf("%w: --metrics-addr needs --watch", errUsage)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	leases, err := opsCheckpointer(clients.DynamoDB, c.leaseTable)
	if err != nil {
		return err
	}
	sampler, err := status.NewSampler(status.Config{
		Kinesis: clients.Kinesis, Leases: leases, Stream: c.stream, LagLimit: lagLimit, RateWindow: rateWindow,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	emit := func(r status.Report) error {
		if asJSON {
			return opsJSON(env.Stdout, r, !watch)
		}
		return status.WriteText(env.Stdout, r)
	}
	if !watch {
		r, err := sampler.Sample(ctx)
		if err != nil {
			return err
		}
		return emit(r)
	}
	redraw := opsIsTerminal(env.Stdout) && !asJSON
	collector := status.NewCollector()
	watchEmit := func(r status.Report) error {
		collector.Update(r)
		if redraw {
			fmt.Fprint(env.Stdout, "\x1b[H\x1b[2J")
		} else if !asJSON {
			fmt.Fprintln(env.Stdout)
		}
		return emit(r)
	}
	g, gctx := errgroup.WithContext(ctx)
	serveCtx, stopServing := context.WithCancel(gctx)
	defer stopServing()
	if metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collector)
		var ready telemetry.Readiness
		ready.Set(true)
		g.Go(func() error {
			err := telemetry.Serve(serveCtx, metricsAddr, telemetry.Mux(reg, &ready), log)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		})
	}
	g.Go(func() error {
		defer stopServing()
		return sampler.Watch(gctx, interval, watchEmit)
	})
	return g.Wait()
}

// leaseTableFlag registers --lease-table alone (commands that do not use the other tables).
func leaseTableFlag(fs *flag.FlagSet, c *common) {
	fs.StringVar(&c.leaseTable, "lease-table", "shardline-leases", "DynamoDB table for KCL leases and checkpoints")
}

// ledgerTableFlag registers --ledger-table alone.
func ledgerTableFlag(fs *flag.FlagSet, c *common) {
	fs.StringVar(&c.ledgerTable, "ledger-table", "shardline-ledger", "DynamoDB table for the per-object ledger")
}

// opsCheckpointer opens the lease table for the operations commands. Their worker ID never owns a
// lease: they only read, or rewind with conditional writes.
func opsCheckpointer(db checkpoint.DynamoDB, table string) (*checkpoint.Checkpointer, error) {
	return checkpoint.New(checkpoint.Config{Client: db, TableName: table, WorkerID: "shardline-ops"})
}

// opsJSON writes v as JSON, indented or on one line, for every --json output: a nil list or map
// prints as [] or {}, never null, so that a script can iterate what it reads without a check.
func opsJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return enc.Encode(v)
	}
	return enc.Encode(emptyNotNil(rv).Interface())
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// emptyNotNil returns a copy of v in which every nil slice and map reachable through exported
// fields, pointers, slices and maps is empty instead. Types that marshal themselves (time.Time)
// are kept as they are.
func emptyNotNil(v reflect.Value) reflect.Value {
	t := v.Type()
	for _, m := range []reflect.Type{jsonMarshalerType, textMarshalerType} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return v
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return v
		}
		inner := emptyNotNil(v.Elem())
		if v.Kind() == reflect.Interface {
			return inner
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(inner)
		return p
	case reflect.Slice:
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(emptyNotNil(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), emptyNotNil(it.Value()))
		}
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v)
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out.Field(i).Set(emptyNotNil(v.Field(i)))
			}
		}
		return out
	}
	return v
}

func opsIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
