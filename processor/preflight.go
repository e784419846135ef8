package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
)

// ErrMissingResource matches (errors.Is) the error Run returns when the stream or a table does
// not exist.
var ErrMissingResource = errors.New("missing resource")

// missingError names the missing resource and says how to create it.
type missingError struct{ what string }

func (e *missingError) Error() string        { return e.what + " does not exist: " + createHint }
func (e *missingError) Is(target error) bool { return target == ErrMissingResource }

// preflightTimeout bounds the start-up checks, the SDK's retries included.
const preflightTimeout = 30 * time.Second

// createHint says how the resources are made.
const createHint = "create it with `shardline setup` (local stack, tests) or Terraform (infra/terraform)"

// check is one start-up check of a resource.
type check struct {
	what string // "stream shardline-events"
	call func(ctx context.Context) error
}

// preflight checks that the stream and the tables exist and answer, before the KCL starts: a
// worker pointed at a missing stream would otherwise start and log the same error every shard
// sync forever. A check refused for lack of permission (AccessDenied) is skipped with a log line:
// the worker's IAM policy need not allow DescribeTable on every table.
func preflight(ctx context.Context, checks []check, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	for _, c := range checks {
		err := c.call(ctx)
		var api smithy.APIError
		switch {
		case err == nil:
		case errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException":
			return &missingError{what: c.what}
		case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"):
			log.Info("start-up check skipped: not allowed", slog.String("resource", c.what), slog.String("error", err.Error()))
		default:
			return fmt.Errorf("cannot reach %s: %w", c.what, err)
		}
	}
	return nil
}

// resourceChecks are the start-up checks of cfg's stream and tables. The ledger is read (its
// epoch item: GetItem, which workers may do) rather than described.
func resourceChecks(cfg Config, readLedger func(context.Context) error) []check {
	describe := func(table string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := cfg.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			return err
		}
	}
	return []check{
		{"stream " + cfg.StreamName, func(ctx context.Context) error {
			_, err := cfg.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.StreamName)})
			return err
		}},
		{"lease table " + cfg.LeaseTable, describe(cfg.LeaseTable)},
		{"ledger table " + cfg.LedgerTable, readLedger},
		{"dead-letter table " + cfg.DeadLetterTable, describe(cfg.DeadLetterTable)},
	}
}
