// Command manifest is a shardline worker with a handler of its own: for every object of the input
// buckets it keeps a JSON manifest (size, ETag, content type, last modified) in an output bucket,
// and deletes the manifest when the object is gone. It uses only shardline's public package
// processor and the AWS SDK.
//
// Every flag may also be set in the environment as SHARDLINE_<FLAG> (SHARDLINE_OUTPUT_BUCKET…),
// as for the shardline command; AWS_REGION, AWS_ENDPOINT_URL_<SERVICE> and the rest of the SDK's
// configuration apply as usual.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shardline/shardline/processor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manifest:", err)
		os.Exit(1)
	}
}

func run() error {
	hostname, _ := os.Hostname()
	defaultPathStyle, _ := strconv.ParseBool(env("s3-path-style", "false"))
	var (
		stream       = flag.String("stream", env("stream", "shardline-events"), "Kinesis stream")
		leaseTable   = flag.String("lease-table", env("lease-table", "shardline-leases"), "DynamoDB table of leases and checkpoints")
		ledgerTable  = flag.String("ledger-table", env("ledger-table", "shardline-ledger"), "DynamoDB table of the per-object ledger")
		deadLetters  = flag.String("dead-letter-table", env("dead-letter-table", "shardline-dead-letters"), "DynamoDB table of dead letters")
		outputBucket = flag.String("output-bucket", env("output-bucket", ""), "bucket for the manifests (required)")
		prefix       = flag.String("output-prefix", env("output-prefix", "manifests/"), "key prefix of the manifests")
		inputBuckets = flag.String("input-buckets", env("input-buckets", ""), "comma-separated allow-list of input buckets (empty: any)")
		workerID     = flag.String("worker-id", env("worker-id", fmt.Sprintf("%s-%d", hostname, os.Getpid())), "unique name of this worker")
		region       = flag.String("region", env("region", ""), "AWS region (default: AWS_REGION / shared config)")
		pathStyle    = flag.Bool("s3-path-style", defaultPathStyle, "path-style S3 addressing (MinIO)")
		metricsAddr  = flag.String("metrics-addr", env("metrics-addr", ":9102"), "address of /metrics, /healthz and /readyz")
	)
	flag.Parse()
	var inputs []string
	if *inputBuckets != "" {
		inputs = strings.Split(*inputBuckets, ",")
	}
	if *outputBucket == "" || slices.Contains(inputs, *outputBucket) {
		// An output bucket that notifies the stream would feed the worker its own manifests.
		return errors.New("-output-bucket is required and must not be an input bucket")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	health := &processor.Health{}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg := processor.Config{
		Kinesis:  kinesis.NewFromConfig(awsCfg),
		DynamoDB: dynamodb.NewFromConfig(awsCfg),
		Handler: &Manifests{
			Store:        s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = *pathStyle }),
			OutputBucket: *outputBucket,
			Prefix:       *prefix,
		},
		Region: awsCfg.Region, StreamName: *stream, WorkerID: *workerID,
		LeaseTable: *leaseTable, LedgerTable: *ledgerTable, DeadLetterTable: *deadLetters,
		InputBuckets: inputs,
		Health:       health, Registerer: reg, Logger: logger,
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	// Bind before starting the worker, so that a port clash is a start-up error.
	ln, err := net.Listen("tcp", *metricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	logger.Info("manifest worker starting", slog.String("worker", *workerID), slog.String("stream", *stream))
	return serveWhile(ln, newMux(reg, health), func() error { return processor.Run(ctx, cfg) })
}

// newMux serves the registry's metrics and the worker's health.
func newMux(reg *prometheus.Registry, health *processor.Health) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("GET /healthz", probe(health, func(s processor.Status) bool { return s.Live }))
	mux.Handle("GET /readyz", probe(health, func(s processor.Status) bool { return s.Ready }))
	return mux
}

// serveWhile serves mux on ln while run runs. processor.Run returns after SIGTERM or SIGINT once
// the worker has drained, checkpointed and released its leases; the metrics stay up until then,
// so that the last values can be scraped.
func serveWhile(ln net.Listener, mux http.Handler, run func() error) error {
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runErr := run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if srv.Shutdown(ctx) != nil {
		// A scrape still running, or a connection that never sent a request: the worker has
		// stopped cleanly, so cut them rather than fail.
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("metrics server: %w", err))
	}
	return runErr
}

// env returns the value of SHARDLINE_<FLAG> for a flag name, or def when it is not set.
func env(flagName, def string) string {
	if v := os.Getenv("SHARDLINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))); v != "" {
		return v
	}
	return def
}

// probe serves the worker's health as JSON: 200 when ok says so, 503 otherwise.
func probe(health *processor.Health, ok func(processor.Status) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := health.Health()
		w.Header().Set("Content-Type", "application/json")
		if !ok(st) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(st)
	})
}
