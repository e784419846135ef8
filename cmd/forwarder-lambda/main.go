// Command forwarder-lambda is the forwarder as an AWS Lambda function (provided.al2023). It
// accepts S3 notifications delivered directly, through SQS or SNS, or as EventBridge events, and
// writes them to the stream named by SHARDLINE_STREAM. An error return makes Lambda (or SQS)
// deliver the batch again, so nothing is lost when Kinesis is unavailable.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shardline/shardline/internal/awsclients"
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

func build(ctx context.Context, log *slog.Logger) (*forwarder.Forwarder, error) {
	stream := os.Getenv("SHARDLINE_STREAM")
	if stream == "" {
		return nil, fmt.Errorf("SHARDLINE_STREAM is not set")
	}
	clients, err := awsclients.Load(ctx, awsclients.Options{})
	if err != nil {
		return nil, err
	}
	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: clients.Kinesis, StreamName: stream, Logger: log})
	if err != nil {
		return nil, err
	}
	return forwarder.New(forwarder.Config{Writer: w, Logger: log})
}
