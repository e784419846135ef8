package forwarder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/shardline/shardline/internal/notification"
)

// HandleLambda is the Lambda entry point (lambda.Start(f.HandleLambda)). It accepts whatever
// payload the function is invoked with: an S3 notification, an SQS batch of S3 or SNS messages,
// an SNS event or an EventBridge event; Parse tells them apart.
//
// It returns nil only when every event of the payload is in the stream; otherwise it returns the
// error, so Lambda (async invoke) or SQS (the whole batch) delivers the payload again. Events
// that did get in are then sent again; their envelope IDs make the duplicates harmless.
//
// A payload that is not a notification at all is logged at error level with its size, counted
// in shardline_forwarder_malformed_total, and acknowledged (nil): redelivering it would fail the
// same way forever and, on an SQS source, hold up the batch around it. Records inside a valid
// payload that cannot be forwarded are Skips, counted by reason, not errors; so are events for a
// bucket that is invalid or not on the input-bucket allow-list (events_refused_total), which are
// never written to the stream.
func (f *Forwarder) HandleLambda(ctx context.Context, raw json.RawMessage) error {
	res, err := f.parse(raw)
	if err != nil {
		if errors.Is(err, notification.ErrMalformed) {
			f.metrics.malformed.Inc()
			f.metrics.requests.WithLabelValues(resultMalformed).Inc()
			f.log.LogAttrs(ctx, slog.LevelError, "malformed notification dropped",
				slog.Int("bytes", len(raw)), slog.Any("error", err))
			return nil
		}
		f.metrics.requests.WithLabelValues(resultParseFailed).Inc()
		f.log.LogAttrs(ctx, slog.LevelError, "parse notification",
			slog.Int("bytes", len(raw)), slog.Any("error", err))
		return fmt.Errorf("parse notification: %w", err)
	}
	if _, err := f.deliver(ctx, res); err != nil {
		f.metrics.requests.WithLabelValues(resultWriteFailed).Inc()
		return fmt.Errorf("forward %d events: %w", len(res.Events), err)
	}
	f.metrics.requests.WithLabelValues(resultForwarded).Inc()
	return nil
}
