package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vmware/vmware-go-kcl-v2/logger"
)

// kclLogger routes the KCL's printf-style logging into slog.
type kclLogger struct{ l *slog.Logger }

var _ logger.Logger = kclLogger{}

func (k kclLogger) log(level slog.Level, format string, args ...any) {
	if !k.l.Enabled(context.Background(), level) {
		return
	}
	k.l.Log(context.Background(), level, fmt.Sprintf(format, args...), slog.String("component", "kcl"))
}

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
