package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/ledger"
)

// TTLAttribute is the attribute DynamoDB's time to live reads on the ledger and dead-letter
// tables: ledger.AttrExpiresAt and deadletter.AttrExpiresAt, one name for both.
const TTLAttribute = ledger.AttrExpiresAt

// ensureTTL enables time to live on TTLAttribute for table, unless it is already on. A server
// without the TTL API (dynalite answers UnknownOperationException) is logged and tolerated: items
// then keep their expires_at and never expire. A table whose TTL is on another attribute is left
// alone, with a warning (DynamoDB allows one TTL attribute, and changing it takes an hour).
func ensureTTL(ctx context.Context, db *dynamodb.Client, table string, log *slog.Logger) error {
	out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	switch {
	case unsupported(err):
		logNoTTL(ctx, log, table, err)
		return nil
	case err != nil:
		return fmt.Errorf("describe time to live of %s: %w", table, err)
	}
	if d := out.TimeToLiveDescription; d != nil &&
		(d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		if attr := aws.ToString(d.AttributeName); attr != TTLAttribute {
			log.LogAttrs(ctx, slog.LevelWarn, "table has time to live on another attribute: shardline's items will not expire",
				slog.String("table", table), slog.String("attribute", attr), slog.String("want", TTLAttribute))
		}
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	})
	switch {
	case unsupported(err):
		logNoTTL(ctx, log, table, err)
		return nil
	case alreadyEnabled(err):
		return nil // another setup enabled it between our describe and update
	case err != nil:
		return fmt.Errorf("enable time to live on %s.%s: %w", table, TTLAttribute, err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "table time to live enabled", slog.String("table", table), slog.String("attribute", TTLAttribute))
	return nil
}

// unsupported reports whether err says the server has no such operation.
func unsupported(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException"
}

// alreadyEnabled reports whether err is DynamoDB's refusal to enable a TTL that is already on.
func alreadyEnabled(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(api.ErrorMessage()), "already enabled")
}

func logNoTTL(ctx context.Context, log *slog.Logger, table string, err error) {
	log.LogAttrs(ctx, slog.LevelWarn, "this DynamoDB does not support time to live: items keep expires_at and never expire",
		slog.String("table", table), slog.Any("error", err))
}
