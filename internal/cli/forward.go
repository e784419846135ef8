package cli

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"time"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/telemetry"
)

func runForward(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("forward", flag.ContinueOnError)
	var (
		c        common
		listen   string
		token    string
		maxBody  int64
		deadline time.Duration
		readTime time.Duration
	)
	c.register(fs, streamFlag)
	fs.StringVar(&listen, "listen", ":8085", "address of the webhook (POST /webhook, also POST /), /metrics, /healthz, /readyz")
	fs.StringVar(&token, "webhook-token", "", "shared secret the webhook requires in Authorization (Bearer or bare); empty: no authentication")
	fs.Int64Var(&maxBody, "max-body-bytes", forwarder.DefaultMaxBodyBytes, "largest webhook body accepted (413 above)")
	durationFlag(fs, &readTime, "body-read-timeout", time.Minute, "how long a client may take to send a webhook body (408 after)")
	durationFlag(fs, &deadline, "put-deadline", forwarder.DefaultDeadline, "how long one request may retry PutRecords before answering 503")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	reg := telemetry.NewRegistry()
	w, err := forwarder.NewWriter(forwarder.WriterConfig{
		Client: clients.Kinesis, StreamName: c.stream, Deadline: deadline, Registerer: reg, Logger: log,
	})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	f, err := forwarder.New(forwarder.Config{Writer: w, Token: token, MaxBodyBytes: maxBody, BodyReadTimeout: readTime, Registerer: reg, Logger: log})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	var ready telemetry.Readiness
	ready.Set(true)
	mux := telemetry.Mux(reg, &ready)
	mux.Handle("POST /webhook", f.Handler())
	mux.Handle("POST /{$}", f.Handler())
	mux.Handle("/webhook", f.Handler()) // other methods: the handler answers 405
	err = telemetry.Serve(ctx, listen, mux, log)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
