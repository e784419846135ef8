package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/objects"
)

// verification compares the final input and output buckets.
type verification struct {
	expected   int               // inputs that must have an output
	present    int               // of those, outputs present and derived from the current input
	missing    []string          // input without output
	stale      []string          // output derived from other content than the input's current one
	orphans    []string          // output without input
	badOutputs []string          // output for an input that must be dead-lettered
	dead       map[string]string // object → dead-letter reason
	badWant    map[string]string // key → expected dead-letter reason
}

func (v verification) ok() bool {
	if len(v.missing)+len(v.stale)+len(v.orphans)+len(v.badOutputs) > 0 || v.present != v.expected {
		return false
	}
	for key, reason := range v.badWant {
		if !strings.HasPrefix(v.dead[key], reason) {
			return false
		}
	}
	return true
}

func verify(ctx context.Context, clients awsclients.Clients, n names, bad map[string]string) (verification, error) {
	v := verification{dead: map[string]string{}, badWant: bad}
	inputs, err := objects.ETags(ctx, clients.S3, n.input)
	if err != nil {
		return v, err
	}
	outputs, err := objects.ETags(ctx, clients.S3, n.output)
	if err != nil {
		return v, err
	}
	for key, etag := range inputs {
		_, hasOut := outputs[key]
		if _, isBad := bad[key]; isBad {
			if hasOut {
				v.badOutputs = append(v.badOutputs, key)
			}
			continue
		}
		v.expected++
		if !hasOut {
			v.missing = append(v.missing, key)
			continue
		}
		head, err := clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(n.output), Key: aws.String(key)})
		if err != nil {
			return v, fmt.Errorf("head output %s: %w", key, err)
		}
		if head.Metadata[grayscale.MetaSourceETag] != etag {
			v.stale = append(v.stale, key)
			continue
		}
		v.present++
	}
	for key := range outputs {
		if _, ok := inputs[key]; !ok {
			v.orphans = append(v.orphans, key)
		}
	}
	store, err := deadletter.New(clients.DynamoDB, n.deadLetters)
	if err != nil {
		return v, err
	}
	letters, err := store.List(ctx)
	if err != nil {
		return v, err
	}
	for _, l := range letters {
		key := strings.TrimPrefix(l.Object, n.input+"/")
		v.dead[key] = l.Reason
	}
	for _, s := range [][]string{v.missing, v.stale, v.orphans, v.badOutputs} {
		sort.Strings(s)
	}
	return v, nil
}
