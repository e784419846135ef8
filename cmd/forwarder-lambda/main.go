// Command forwarder-lambda is the forwarder as an AWS Lambda function (provided.al2023). It
// accepts S3 notifications delivered directly, through SQS or SNS, or as EventBridge events, and
// writes them to the stream named by SHARDLINE_STREAM. An error return makes Lambda (or SQS)
// deliver the batch again, so nothing is lost when Kinesis is unavailable.
//
// SHARDLINE_INPUT_BUCKETS is the comma-separated allow-list of input buckets: events for any
// other bucket, and events whose bucket is not a valid S3 bucket name, are refused (counted,
// logged, never written). Empty: any valid bucket name.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/forwarder"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	f, err := build(context.Background(), log)
	if err != nil {
		log.Error("forwarder-lambda cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(f.HandleLambda)
}

// settings is what the function reads from its environment.
type settings struct {
	stream  string
	buckets bucket.AllowList
}

func readSettings(getenv func(string) string) (settings, error) {
	s := settings{stream: getenv("SHARDLINE_STREAM")}
	if s.stream == "" {
		return settings{}, fmt.Errorf("SHARDLINE_STREAM is not set")
	}
	var err error
	if s.buckets, err = bucket.ParseAllowList(getenv("SHARDLINE_INPUT_BUCKETS")); err != nil {
		return settings{}, fmt.Errorf("SHARDLINE_INPUT_BUCKETS: %w", err)
	}
	return s, nil
}

func build(ctx context.Context, log *slog.Logger) (*forwarder.Forwarder, error) {
	s, err := readSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	if s.buckets.Empty() {
		log.Warn("SHARDLINE_INPUT_BUCKETS is empty: events for any bucket are forwarded")
	}
	clients, err := awsclients.Load(ctx, awsclients.Options{})
	if err != nil {
		return nil, err
	}
	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: clients.Kinesis, StreamName: s.stream, Logger: log})
	if err != nil {
		return nil, err
	}
	return forwarder.New(forwarder.Config{Writer: w, InputBuckets: s.buckets, Logger: log})
}
