package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/shardline/shardline/internal/forwarder"
)

// Queue is the part of the SQS API Run uses; *sqs.Client implements it.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Forwarder puts the events of one notification payload on the stream; *forwarder.Forwarder
// implements it. It returns nil only when every event it did not refuse is in the stream.
type Forwarder interface {
	Forward(ctx context.Context, payload []byte) (forwarder.Delivery, error)
}

// DefaultWaitTime is the default long-polling wait of one ReceiveMessage call, SQS's maximum.
const DefaultWaitTime = 20 * time.Second

// maxReceive is the most messages one ReceiveMessage call returns.
const maxReceive = 10

// maxSeenOnly is how many receives in a row may return only messages this run already handled
// (they reappeared after their visibility timeout) before Run concludes that nothing new is left.
const maxSeenOnly = 3

// Config configures Run. Queue, QueueURL and Forwarder are required; other zero fields take the
// default documented on them.
type Config struct {
	Queue     Queue
	QueueURL  string
	Forwarder Forwarder
	// MaxMessages stops the run after this many messages were received. Zero: until a receive
	// finds the queue empty.
	MaxMessages int
	// WaitTime is how long one receive waits for a message (long polling), at most 20s. Zero
	// means DefaultWaitTime (20s): SQS then asks every server of the queue, so an empty answer
	// means the queue is empty, which a short poll does not.
	WaitTime time.Duration
	// VisibilityTimeout is how long a received message stays hidden from other consumers while
	// it is replayed, and how soon a message left in the queue reappears. Zero: the queue's own.
	VisibilityTimeout time.Duration
	// DryRun forwards nothing and deletes nothing: give it a Forwarder whose writer writes
	// nothing, and it reports what a replay would do. Received messages are made visible again
	// at the end.
	DryRun bool
	// OnMessage, if set, is called after each message is handled, with the totals so far.
	OnMessage func(Progress)
	// Logger receives one line per message. Nil discards them.
	Logger *slog.Logger
}

// Validate reports a missing or out-of-range field.
func (c Config) Validate() error {
	var errs []error
	if c.Queue == nil || c.Forwarder == nil {
		errs = append(errs, errors.New("Queue and Forwarder are required"))
	}
	if c.QueueURL == "" {
		errs = append(errs, errors.New("QueueURL is required"))
	}
	if c.MaxMessages < 0 {
		errs = append(errs, fmt.Errorf("MaxMessages %d is negative", c.MaxMessages))
	}
	if c.WaitTime < 0 || c.WaitTime > DefaultWaitTime {
		errs = append(errs, fmt.Errorf("WaitTime %s is not within 0..20s", c.WaitTime))
	}
	if c.VisibilityTimeout < 0 || c.VisibilityTimeout > 12*time.Hour {
		errs = append(errs, fmt.Errorf("VisibilityTimeout %s is not within 0..12h", c.VisibilityTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replay config: %w", err)
	}
	return nil
}

// Why a run ended (Result.Stopped).
const (
	StoppedEmpty         = "empty"         // a receive found no message not handled yet
	StoppedMaxMessages   = "maxMessages"   // MaxMessages were received
	StoppedForwardFailed = "forwardFailed" // Kinesis did not take a message's events
	StoppedInterrupted   = "interrupted"   // the context ended
	StoppedReceiveFailed = "receiveFailed" // ReceiveMessage failed
)

// Progress is the running count of a replay.
type Progress struct {
	// Received is how many distinct messages were received.
	Received int `json:"received"`
	// Replayed is how many of them have every event in the stream (in a dry run: would have).
	Replayed int `json:"replayed"`
	// Deleted is how many were deleted from the queue; never more than Replayed.
	Deleted int `json:"deleted"`
	// Kept is how many stay in the queue although they are not a dry run's: not replayed, or
	// replayed but not deleted. They reappear after their visibility timeout.
	Kept int `json:"kept"`
}

// Message is what happened to one message.
type Message struct {
	ID        string `json:"id"`
	Format    string `json:"format,omitempty"` // FormatInvocationRecord or FormatEvent
	Condition string `json:"condition,omitempty"`
	Events    int    `json:"events"`
	Forwarded int    `json:"forwarded"`
	Refused   int    `json:"refused"`
	Skipped   int    `json:"skipped"`
	// Replayed: every event that is work is in the stream (in a dry run: nothing stops it).
	Replayed bool `json:"replayed"`
	// Deleted: the message is gone from the queue.
	Deleted bool `json:"deleted"`
	// Error says why the message stays, when it does.
	Error string `json:"error,omitempty"`
}

// Result is the outcome of Run.
type Result struct {
	Progress
	DryRun   bool      `json:"dryRun"`
	Stopped  string    `json:"stopped"`
	Messages []Message `json:"messages"`
}

// Run receives messages from the failure queue with long polling and replays each: Unwrap, then
// Forward; it deletes a message only when Forward returned nil and refused nothing (in a dry run,
// never). A message that is not replayed is left alone, and reappears after its visibility
// timeout. Run stops when a receive finds nothing it has not handled, after MaxMessages, at the
// first message Kinesis did not take (returning that error), when ctx ends, or when a receive
// fails (returning that error). The Result is valid in every case.
func Run(ctx context.Context, cfg Config) (Result, error) {
	res := Result{DryRun: cfg.DryRun, Messages: []Message{}}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = DefaultWaitTime
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &replayer{cfg: cfg, res: &res, seen: map[string]bool{}}
	if cfg.DryRun {
		defer func() { release(ctx, cfg, r.hidden, cfg.Logger) }()
	}
	seenOnly := 0
	for {
		want := maxReceive
		if cfg.MaxMessages > 0 {
			want = min(want, cfg.MaxMessages-res.Received)
			if want <= 0 {
				res.Stopped = StoppedMaxMessages
				return res, nil
			}
		}
		if ctx.Err() != nil {
			res.Stopped = StoppedInterrupted
			return res, nil
		}
		out, err := r.receive(ctx, want)
		if err != nil {
			if ctx.Err() != nil {
				res.Stopped = StoppedInterrupted
				return res, nil
			}
			res.Stopped = StoppedReceiveFailed
			return res, fmt.Errorf("receive from %s: %w", cfg.QueueURL, err)
		}
		fresh, err := r.replay(ctx, out.Messages)
		if err != nil {
			res.Stopped = StoppedForwardFailed
			if ctx.Err() != nil {
				res.Stopped = StoppedInterrupted
				return res, nil
			}
			return res, err
		}
		switch {
		case len(out.Messages) == 0:
			res.Stopped = StoppedEmpty
			return res, nil
		case fresh == 0:
			if seenOnly++; seenOnly >= maxSeenOnly {
				res.Stopped = StoppedEmpty
				return res, nil
			}
		default:
			seenOnly = 0
		}
	}
}

// replayer is one Run: what it has seen and, in a dry run, the messages it hid.
type replayer struct {
	cfg    Config
	res    *Result
	seen   map[string]bool // message IDs handled this run
	hidden []string        // receipt handles a dry run makes visible again
}

// receive asks the queue for up to want messages.
func (r *replayer) receive(ctx context.Context, want int) (*sqs.ReceiveMessageOutput, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(r.cfg.QueueURL),
		MaxNumberOfMessages:   int32(want),
		WaitTimeSeconds:       int32(r.cfg.WaitTime / time.Second),
		MessageAttributeNames: []string{"ERROR_CODE"},
	}
	if r.cfg.VisibilityTimeout > 0 {
		in.VisibilityTimeout = int32(r.cfg.VisibilityTimeout / time.Second)
	}
	return r.cfg.Queue.ReceiveMessage(ctx, in)
}

// replay replays the messages not seen before this run and returns how many there were. It stops
// at the first message whose events could not be forwarded.
func (r *replayer) replay(ctx context.Context, msgs []sqstypes.Message) (fresh int, err error) {
	for _, m := range msgs {
		id := aws.ToString(m.MessageId)
		if r.seen[id] {
			continue // reappeared after its visibility timeout: handled once this run
		}
		r.seen[id] = true
		fresh++
		if r.cfg.DryRun {
			r.hidden = append(r.hidden, aws.ToString(m.ReceiptHandle))
		}
		msg, fwdErr := replayOne(ctx, r.cfg, m)
		r.res.add(msg)
		logMessage(ctx, r.cfg.Logger, msg, r.cfg.DryRun)
		if r.cfg.OnMessage != nil {
			r.cfg.OnMessage(r.res.Progress)
		}
		if fwdErr != nil {
			return fresh, fmt.Errorf("message %s: %w", id, fwdErr)
		}
	}
	return fresh, nil
}

func (r *Result) add(m Message) {
	r.Received++
	if m.Replayed {
		r.Replayed++
	}
	if m.Deleted {
		r.Deleted++
	}
	if !m.Deleted && !r.DryRun {
		r.Kept++
	}
	r.Messages = append(r.Messages, m)
}

// replayOne replays one message. It returns a non-nil error only when Kinesis did not take the
// events (forwarder.ErrNotForwarded), which ends the run.
func replayOne(ctx context.Context, cfg Config, m sqstypes.Message) (Message, error) {
	msg := Message{ID: aws.ToString(m.MessageId)}
	f, err := Unwrap([]byte(aws.ToString(m.Body)))
	msg.Format, msg.Condition = f.Format, f.Condition
	if msg.Condition == "" {
		if a, ok := m.MessageAttributes["ERROR_CODE"]; ok {
			msg.Condition = aws.ToString(a.StringValue)
		}
	}
	if err != nil {
		msg.Error = err.Error()
		return msg, nil
	}
	d, err := cfg.Forwarder.Forward(ctx, f.Payload)
	msg.Events, msg.Forwarded, msg.Refused, msg.Skipped = d.Events, d.Forwarded, d.Refused, d.Skipped
	if decision := keep(d, err); decision != "" {
		msg.Error = decision
		if errors.Is(err, forwarder.ErrNotForwarded) {
			return msg, err
		}
		return msg, nil
	}
	msg.Replayed = true
	if cfg.DryRun {
		return msg, nil
	}
	// Delete even if ctx ended meanwhile: the events are in, and the delete is one short call.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := cfg.Queue.DeleteMessage(dctx, &sqs.DeleteMessageInput{
		QueueUrl: aws.String(cfg.QueueURL), ReceiptHandle: m.ReceiptHandle,
	}); err != nil {
		msg.Error = fmt.Sprintf("in the stream, but the message was not deleted (it will be replayed again, harmlessly): %v", err)
		return msg, nil
	}
	msg.Deleted = true
	return msg, nil
}

// keep decides whether a message whose payload Forward returned (d, err) must stay in the queue,
// and says why; "" means every event that is work is in the stream and the message may go. It is
// the one place that decides a delete.
func keep(d forwarder.Delivery, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case d.Refused > 0:
		return fmt.Sprintf("%d of %d events refused (bucket invalid or not on --input-buckets): not in the stream", d.Refused, d.Events)
	case d.Forwarded != d.Events:
		return fmt.Sprintf("only %d of %d events in the stream", d.Forwarded, d.Events)
	}
	return ""
}

// release makes the messages a dry run received visible again, so that a replay right after it
// finds them. A failure only delays them until their visibility timeout.
func release(ctx context.Context, cfg Config, handles []string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, h := range handles {
		if _, err := cfg.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(cfg.QueueURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0,
		}); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "dry run: a received message stays hidden until its visibility timeout",
				slog.Any("error", err))
		}
	}
}

func logMessage(ctx context.Context, log *slog.Logger, m Message, dryRun bool) {
	attrs := []slog.Attr{
		slog.String("message", m.ID), slog.String("format", m.Format), slog.Int("events", m.Events),
		slog.Int("forwarded", m.Forwarded), slog.Int("refused", m.Refused), slog.Int("skipped", m.Skipped),
		slog.Bool("deleted", m.Deleted), slog.Bool("dryRun", dryRun),
	}
	if m.Condition != "" {
		attrs = append(attrs, slog.String("condition", m.Condition))
	}
	if m.Error != "" {
		log.LogAttrs(ctx, slog.LevelWarn, "message stays in the queue", append(attrs, slog.String("error", m.Error))...)
		return
	}
	msg := "message replayed"
	if dryRun {
		msg = "message would be replayed (dry run)"
	}
	log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}
