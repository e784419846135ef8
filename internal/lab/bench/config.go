package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// Sections of the table, in the order they run and print.
const (
	SectionImage       = "image"
	SectionShardLimit  = "shard-limit"
	SectionPipeline    = "pipeline"
	SectionConcurrency = "concurrency"
	SectionHotKey      = "hotkey"
	SectionLatency     = "latency"
	SectionForwarder   = "forwarder"
	SectionHandoff     = "handoff"
)

// Sections lists every section name.
var Sections = []string{SectionImage, SectionShardLimit, SectionPipeline, SectionConcurrency, SectionHotKey, SectionLatency, SectionForwarder, SectionHandoff}

// Defaults of Config's optional fields.
const (
	DefaultPhotosDir   = "/usr/share/backgrounds/mate"
	DefaultJPEGQuality = grayscale.DefaultJPEGQuality
)

// Config configures Run. Binary is required for the image section and Clients for every other
// one; the other zero values select the documented defaults.
type Config struct {
	// Binary is the bench executable; the image section re-runs it with ChildCommand to measure
	// each mode in a process of its own.
	Binary string
	// Clients reach the local stack (S3 = MinIO, Kinesis, DynamoDB).
	Clients awsclients.Clients
	// PhotosDir holds the JPEG and PNG inputs (searched recursively). Default DefaultPhotosDir.
	PhotosDir string
	// Webhook is where MinIO posts notifications (the latency section listens there, holding
	// emulators.LockWebhook) and its queue ARN; defaults hookproxy's.
	hookproxy.Webhook
	// Only restricts the run to these sections (names from Sections); empty runs all.
	Only []string
	// ShardLimitDuration is how long each shard-limit run offers its load. Default
	// DefaultShardLimitDuration (the 60 s); shorter for smoke runs.
	ShardLimitDuration time.Duration
	// LogDir, when set, receives bench-consumers.log, the logs of the consumer child processes.
	LogDir string
	// JPEGQuality is the output quality of every JPEG encoder compared. Default
	// DefaultJPEGQuality, the handler's default.
	JPEGQuality int

	// Out receives the table.
	Out io.Writer
	// Progress receives one line per step, so a long run shows where it is. Nil discards.
	Progress *slog.Logger
	// Logs receives the logs of the forwarders and workers the bench runs. Nil discards.
	Logs *slog.Logger
}

// Validate reports a missing or unknown field.
func (c Config) Validate() error {
	var errs []error
	for _, s := range c.Only {
		if !slices.Contains(Sections, s) {
			errs = append(errs, fmt.Errorf("unknown section %q (want one of %s)", s, strings.Join(Sections, ", ")))
		}
	}
	if c.Out == nil {
		errs = append(errs, errors.New("Out is required"))
	}
	if (c.runs(SectionImage) || c.runs(SectionShardLimit)) && c.Binary == "" {
		errs = append(errs, errors.New("Binary is required for the image and shard-limit sections"))
	}
	if c.ShardLimitDuration < 0 || (c.ShardLimitDuration > 0 && c.ShardLimitDuration < time.Second) {
		errs = append(errs, fmt.Errorf("ShardLimitDuration %s is less than 1s", c.ShardLimitDuration))
	}
	if c.JPEGQuality < 0 || c.JPEGQuality > 100 {
		errs = append(errs, fmt.Errorf("JPEGQuality %d is outside 1–100", c.JPEGQuality))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench config: %w", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PhotosDir == "" {
		c.PhotosDir = DefaultPhotosDir
	}
	c.Webhook.Defaults()
	if c.JPEGQuality == 0 {
		c.JPEGQuality = DefaultJPEGQuality
	}
	if c.ShardLimitDuration == 0 {
		c.ShardLimitDuration = DefaultShardLimitDuration
	}
	if c.Progress == nil {
		c.Progress = slog.New(slog.DiscardHandler)
	}
	if c.Logs == nil {
		c.Logs = slog.New(slog.DiscardHandler)
	}
	return c
}

// runs reports whether section is selected.
func (c Config) runs(section string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, section)
}
