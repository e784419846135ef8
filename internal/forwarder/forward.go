package forwarder

import (
	"context"
	"errors"
	"fmt"
)

// Delivery counts what Forward did with one notification payload.
type Delivery struct {
	// Events is how many events the payload held.
	Events int
	// Forwarded is how many of them are in the stream.
	Forwarded int
	// Refused is how many were refused (a bucket that is invalid or not on the allow-list): never
	// written to the stream.
	Refused int
	// Skipped is how many entries of the payload are not work (test events, events without a
	// sequencer, ...; see notification.Skip): counted and logged, as by HandleLambda.
	Skipped int
}

// Forward parses payload and writes its events exactly as HandleLambda does (same parser,
// allow-list, validation, Writer, metrics and logs), for callers that replay payloads the Lambda
// failed on. It returns nil only when every event that was not refused is in the stream; then
// Forwarded = Events - Refused.
//
// Unlike HandleLambda it acknowledges nothing on the caller's behalf: a payload that is not a
// notification is an error (wrapping notification.ErrMalformed), and Refused says how many
// events were kept off the stream, so the caller decides whether the payload is done.
func (f *Forwarder) Forward(ctx context.Context, payload []byte) (Delivery, error) {
	res, err := f.parse(payload)
	if err != nil {
		return Delivery{}, fmt.Errorf("parse notification: %w", err)
	}
	d := Delivery{Events: len(res.Events), Skipped: len(res.Skipped)}
	refused, err := f.deliver(ctx, res)
	d.Refused = refused
	if err != nil {
		var nf *NotForwardedError
		if errors.As(err, &nf) {
			d.Forwarded = nf.Total - nf.Failed
		}
		return d, fmt.Errorf("forward %d events: %w", d.Events-refused, err)
	}
	d.Forwarded = d.Events - refused
	return d, nil
}
