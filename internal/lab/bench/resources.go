package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/setup"
)

// resources are the fresh stream, tables and (optionally) buckets of one measurement.
type resources struct {
	stream, leases, ledger, deadLetters string
	input, output                       string
}

// uniqueName is bench-<what>-<8 hex digits>: lower case, valid for streams, tables and buckets.
func uniqueName(what string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "bench-" + what + "-" + hex.EncodeToString(b[:])
}

// create makes a stream of the given shards and the three tables; with buckets, also an input
// and an output bucket, the input notifying notifyARN when it is not empty.
func (r *runner) create(ctx context.Context, what string, shards int32, buckets bool, notifyARN string) (resources, error) {
	c := r.cfg.Clients
	if c.Kinesis == nil || c.DynamoDB == nil || c.S3 == nil {
		return resources{}, errors.New("no local stack clients")
	}
	base := uniqueName(what)
	res := resources{stream: base, leases: base + "-leases", ledger: base + "-ledger", deadLetters: base + "-dead-letters"}
	if buckets {
		res.input, res.output = base+"-in", base+"-out"
	}
	err := setupRetrying(ctx, r.cfg.Progress, setup.Clients{S3: c.S3, Kinesis: c.Kinesis, DynamoDB: c.DynamoDB}, setup.Config{
		StreamName: res.stream, Shards: shards,
		LeaseTable: res.leases, LedgerTable: res.ledger, DeadLetterTable: res.deadLetters,
		InputBucket: res.input, OutputBucket: res.output, NotifyQueueARN: notifyARN,
	})
	if err != nil {
		r.remove(res)
		return resources{}, fmt.Errorf("create %s: %w", base, err)
	}
	return res, nil
}

// setupRetrying runs setup.Run (which creates only what is missing) until it succeeds, for up
// to two minutes: kinesalite refuses CreateStream with LimitExceededException while its shard
// limit (100 for the local stack) is used up by the streams of tests running at the same time.
func setupRetrying(ctx context.Context, progress *slog.Logger, c setup.Clients, cfg setup.Config) error {
	cfg.Wait = time.Minute
	deadline := time.Now().Add(2 * time.Minute)
	for wait := time.Second; ; wait = min(2*wait, 8*time.Second) {
		err := setup.Run(ctx, c, cfg, slog.New(slog.DiscardHandler))
		if err == nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		progress.Warn("creating bench resources, will retry", "error", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remove deletes what create made, best effort: the local stack is shared, so the bench leaves
// nothing behind when it can.
func (r *runner) remove(res resources) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := r.cfg.Clients
	if res.stream != "" {
		if _, err := c.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(res.stream)}); err != nil {
			r.warnUnlessGone("delete stream", res.stream, err)
		}
	}
	for _, t := range []string{res.leases, res.ledger, res.deadLetters} {
		if t == "" {
			continue
		}
		if _, err := c.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t)}); err != nil {
			r.warnUnlessGone("delete table", t, err)
		}
	}
	if res.input != "" {
		// No notifications for the deletes below: nobody will be listening for them.
		_, err := c.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(res.input), NotificationConfiguration: &s3types.NotificationConfiguration{}})
		if err != nil {
			r.warnUnlessGone("remove bucket notification", res.input, err)
		}
	}
	for _, b := range []string{res.input, res.output} {
		if b == "" {
			continue
		}
		if err := emptyAndDeleteBucket(ctx, c.S3, b); err != nil {
			r.warnUnlessGone("delete bucket", b, err)
		}
	}
}

// warnUnlessGone reports a failed clean-up, unless the resource did not exist (create failed
// half way).
func (r *runner) warnUnlessGone(what, name string, err error) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ResourceNotFoundException", "NoSuchBucket":
			return
		}
	}
	r.cfg.Progress.Warn(what, "name", name, "error", err)
}

func emptyAndDeleteBucket(ctx context.Context, c *s3.Client, bucket string) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]s3types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = s3types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return err
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}
