// Command kclbaseline is the bench's bare vmware-go-kcl-v2 worker for the handoff section: the
// library with its own default configuration (failover 10 s, renewal every 2.5 s, one lease per
// shard sync), its own DynamoDB checkpointer, from TRIM_HORIZON, and a record processor that
// checkpoints the last record of every batch, as the library's examples do. Two settings can
// be changed from the command line because the defaults make the measurement impossible: the
// shard sync (default 60 s, one lease a minute) and lease stealing (default off: a second
// worker never gets a shard). It runs until SIGTERM (then shuts the library down, which
// releases its leases) or SIGKILL.
//
//	kclbaseline -stream S -app LEASE_TABLE -worker-id ID [-shard-sync 5s] [-lease-stealing]
//
// The AWS endpoints come from AWS_ENDPOINT_URL_KINESIS and AWS_ENDPOINT_URL_DYNAMODB.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	kclcfg "github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
)

func main() {
	var stream, app, id, region string
	var sync time.Duration
	var stealing bool
	flag.DurationVar(&sync, "shard-sync", 0, "shard sync interval (0: the library's default)")
	flag.BoolVar(&stealing, "lease-stealing", false, "turn on the library's lease stealing")
	flag.StringVar(&stream, "stream", "", "stream name")
	flag.StringVar(&app, "app", "", "KCL application name (= lease table)")
	flag.StringVar(&id, "worker-id", "", "worker ID")
	flag.StringVar(&region, "region", os.Getenv("AWS_REGION"), "AWS region")
	flag.Parse()
	if stream == "" || app == "" || id == "" {
		fmt.Fprintln(os.Stderr, "kclbaseline: -stream, -app and -worker-id are required")
		os.Exit(2)
	}
	cfg := kclcfg.NewKinesisClientLibConfig(app, stream, region, id).
		WithInitialPositionInStream(kclcfg.TRIM_HORIZON).
		WithLeaseStealing(stealing)
	if sync > 0 {
		cfg = cfg.WithShardSyncIntervalMillis(int(sync / time.Millisecond))
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL_KINESIS"); ep != "" {
		cfg = cfg.WithKinesisEndpoint(ep)
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
		cfg = cfg.WithDynamoDBEndpoint(ep)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	w := kclworker.NewWorker(factory{}, cfg)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "kclbaseline: start:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	w.Shutdown()
}

type factory struct{}

func (factory) CreateProcessor() kcl.IRecordProcessor { return processor{} }

// processor checkpoints every batch and SHARD_END.
type processor struct{}

func (processor) Initialize(*kcl.InitializationInput) {}

func (processor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	if n := len(in.Records); n > 0 {
		_ = in.Checkpointer.Checkpoint(in.Records[n-1].SequenceNumber)
	}
}

func (processor) Shutdown(in *kcl.ShutdownInput) {
	if in.ShutdownReason == kcl.TERMINATE {
		_ = in.Checkpointer.Checkpoint(nil)
	}
}
