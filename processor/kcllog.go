package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	"github.com/vmware/vmware-go-kcl-v2/logger"

	"github.com/shardline/shardline/checkpoint"
)

// kclLogger routes the KCL's printf-style logging into slog. The lines the KCL logs often (see
// translateKCL) become structured lines an operator can act on, at a level that says whether
// they are signal or noise; the others are formatted without the library's Go-syntax dumps of
// request structs.
type kclLogger struct{ l *slog.Logger }

var _ logger.Logger = kclLogger{}

func (k kclLogger) log(level slog.Level, format string, args ...any) {
	level, msg, attrs := translateKCL(level, format, args)
	if !k.l.Enabled(context.Background(), level) {
		return
	}
	k.l.LogAttrs(context.Background(), level, msg, append(attrs, slog.String("component", "kcl"))...)
}

// The KCL's Infof lines are its internal progress ("Found 2 shards", "Release lease for shard
// …"): shardline logs what matters of that itself, so they are debug.
func (k kclLogger) Debugf(format string, args ...any) { k.log(slog.LevelDebug, format, args...) }
func (k kclLogger) Infof(format string, args ...any)  { k.log(slog.LevelDebug, format, args...) }
func (k kclLogger) Warnf(format string, args ...any)  { k.log(slog.LevelWarn, format, args...) }
func (k kclLogger) Errorf(format string, args ...any) { k.log(slog.LevelError, format, args...) }

// Fatalf and Panicf only log: the KCL calls them where it cannot load its own AWS
// configuration, which never happens here because shardline passes its clients in.
func (k kclLogger) Fatalf(format string, args ...any) { k.log(slog.LevelError, format, args...) }
func (k kclLogger) Panicf(format string, args ...any) { k.log(slog.LevelError, format, args...) }

func (k kclLogger) WithFields(f logger.Fields) logger.Logger {
	attrs := make([]any, 0, len(f))
	for key, v := range f {
		attrs = append(attrs, slog.Any(key, v))
	}
	return kclLogger{l: k.l.With(attrs...)}
}

// kclLine is how translateKCL logs a KCL format whose arguments are an error, or a subject (a
// stream or shard ID) and then an error; any further argument (a request dump) is dropped.
type kclLine struct {
	level   slog.Level
	msg     string
	subject string // the attribute the first argument goes under; "": the error comes first
}

// kclLines are the KCL formats translateKCL logs by kclLine.
var kclLines = map[string]kclLine{
	// Once per failed shard sync; the request dump (all nil pointers but the stream) goes.
	"Error in ListShards: %s Error: %+v Request: %s":                             {slog.LevelError, "shard sync failed: cannot list the stream's shards", "stream"},
	"Couldn't fetch checkpoint: %+v":                                             {slog.LevelWarn, "cannot read a lease from the lease table", ""},
	"Cannot get lease: %+v":                                                      {slog.LevelError, "cannot take a lease", ""},
	"Unable to get shard iterator for %s: %v":                                    {slog.LevelError, "cannot get a shard iterator", "shard"},
	"Error in waiting for parent shard: %v to finish. Error: %+v":                {slog.LevelError, "cannot wait for the parent shard to finish", "parent_shard"},
	"Error getting records from Kinesis that cannot be retried: %+v Request: %s": {slog.LevelError, "GetRecords failed", ""},
	"Error getting records from shard %v: %+v":                                   {slog.LevelWarn, "GetRecords throttled (KMS), retrying", "shard"},
	"Failed to remove shard lease info: %s Error: %+v":                           {slog.LevelWarn, "cannot remove the lease of a shard that left the stream", "shard"},
	"Failed to release shard lease or shard: %s Error: %+v":                      {slog.LevelDebug, "lease release failed (it expires by itself)", "shard"},
	// Run logs the same error as "worker not started".
	"Failed to initialize Worker: %+v":  {slog.LevelDebug, "KCL worker initialization failed", ""},
	"Failed to start Checkpointer: %+v": {slog.LevelDebug, "KCL worker initialization failed", ""},
}

// translateKCL turns one KCL log call (its level, format and arguments, exactly as
// vmware-go-kcl-v2 v1.0.0 makes it) into the level, message and attributes shardline logs.
func translateKCL(level slog.Level, format string, args []any) (slog.Level, string, []slog.Attr) {
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	str := func(key string, i int) slog.Attr { return slog.String(key, fmt.Sprint(arg(i))) }
	errAt := func(i int) slog.Attr { return slog.Any("error", arg(i)) }
	errIs := func(i int, target error) bool {
		err, ok := arg(i).(error)
		return ok && errors.Is(err, target)
	}
	if l, ok := kclLines[format]; ok {
		if l.subject == "" {
			return l.level, l.msg, []slog.Attr{errAt(0)}
		}
		return l.level, l.msg, []slog.Attr{str(l.subject, 0), errAt(1)}
	}
	switch format {
	case "Error syncing shards: %+v, Retrying in %d ms...":
		// Repeats the ListShards line (kclLines).
		return slog.LevelDebug, "shard sync failed, retrying", []slog.Attr{errAt(0), slog.Any("retry_in_ms", arg(1))}
	case "Error in rebalance: %+v":
		if errIs(0, chk.ErrShardNotAssigned) {
			// The usual answer while any shard is free: take free shards before stealing.
			return slog.LevelDebug, "lease rebalancing skipped: some shards are not held yet", nil
		}
		return slog.LevelWarn, "lease rebalancing failed", []slog.Attr{errAt(0)}
	case "Error in getRecords: %+v":
		if errIs(0, checkpoint.ErrLeaseLost) {
			return slog.LevelInfo, "shard consumer stopped: the lease is no longer ours", []slog.Attr{errAt(0)}
		}
		return slog.LevelError, "shard consumer stopped", []slog.Attr{errAt(0)}
	case "message":
		// log.Errorf("message", "Throughput Exceeded Error: …", "shardId", id, "retryCount", n,
		// "error", err): a message and key-value pairs, not a format.
		if len(args) > 0 {
			attrs := make([]slog.Attr, 0, len(args)/2)
			for i := 1; i+1 < len(args); i += 2 {
				attrs = append(attrs, slog.Any(fmt.Sprint(args[i]), args[i+1]))
			}
			return level, fmt.Sprint(args[0]), attrs
		}
	}
	return level, fmt.Sprintf(format, printable(args)...), nil
}

// printable replaces the arguments the KCL dumps with %s or %v that print as Go syntax (request
// structs full of pointers: "&{%!s(*string=<nil>) …}") by their type name.
func printable(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
		switch a.(type) {
		case nil, error, fmt.Stringer:
			continue
		}
		t := reflect.TypeOf(a)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			out[i] = "<" + reflect.TypeOf(a).String() + ">"
		}
	}
	return out
}
