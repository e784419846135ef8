package grayscale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied to the zero values of Config's optional fields.
const (
	// DefaultMaxPixels is the largest width×height the handler decodes when Config.MaxPixels is 0.
	DefaultMaxPixels int64 = 50_000_000
	// DefaultMaxBytes is the largest input object, in bytes, the handler reads when
	// Config.MaxBytes is 0.
	DefaultMaxBytes int64 = 64 << 20
	// DefaultJPEGQuality is the JPEG quality used when Config.JPEGQuality is 0.
	DefaultJPEGQuality = 90
	// DefaultPixelBudgetImages is how many 8-bit RGBA images of MaxPixels pixels fit in the
	// default memory budget when the process has no memory limit (see Config.MemoryBudget).
	DefaultPixelBudgetImages = 4
	// DefaultMemoryLimitShare: with a Go memory limit, the default memory budget is the limit
	// divided by this, leaving the rest for the runtime, the garbage collector's headroom and
	// everything else the worker holds.
	DefaultMemoryLimitShare = 2
)

// ObjectStore is the part of *s3.Client the handler uses, so that unit tests can pass a small
// fake. Errors must look like the SDK's (smithy.APIError, *smithyhttp.ResponseError) to be
// classified; any other error is treated as transient.
type ObjectStore interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

var _ ObjectStore = (*s3.Client)(nil)

// Config configures a Converter. Store and OutputBucket are required; every other field has a
// documented zero-value default.
type Config struct {
	// Store reads inputs and writes outputs. Required.
	Store ObjectStore
	// OutputBucket receives the grayscale copies. Required.
	OutputBucket string
	// OutputPrefix is prepended to the input key to form the output key; "" keeps the key as is.
	OutputPrefix string
	// MaxPixels is the largest width×height accepted; 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes is the largest input object accepted, in bytes; 0 means DefaultMaxBytes.
	MaxBytes int64
	// JPEGQuality (1–100) is the quality of JPEG outputs; 0 means DefaultJPEGQuality. An
	// upright JPEG input already coarser than JPEGQuality keeps its own quantisation (its luma
	// coefficients are copied, not re-encoded), so no output is finer than its input.
	JPEGQuality int
	// PixelBudget, when MemoryBudget is 0 and PixelBudget is not, sets MemoryBudget to
	// PixelBudget × 4 bytes, its meaning before images were costed by format and path (8-bit
	// RGBA). It must then be at least MaxPixels.
	PixelBudget int64
	// MemoryBudget bounds the bytes all puts of one Converter hold at once, whatever the number of
	// concurrent Handle calls: before it reads an input body, a put reserves the body (its
	// Content-Length, or MaxBytes when unknown) plus what converting the image costs on its path
	// (bytes per pixel by format and path, from the header read in the body's first 64 KiB;
	// docs/limits.md), waiting, respecting its context, until that fits; it holds the
	// reservation until its output is written. An image that needs more than the whole budget
	// is refused (ReasonOverMemoryBudget). 0 means PixelBudget × 4 if PixelBudget is set;
	// otherwise the Go memory limit (GOMEMLIMIT, which `shardline work` sets from the
	// container's memory limit) divided by DefaultMemoryLimitShare if there is one, else
	// DefaultPixelBudgetImages × MaxPixels × 4 bytes (800 MB with the defaults; at least
	// 256 MiB).
	MemoryBudget int64
	// UnconditionalWrites turns off If-Match / If-None-Match on output writes and deletes, for
	// stores that mishandle them. By default they are sent, and turned off by themselves if the
	// store answers 501 NotImplemented.
	UnconditionalWrites bool
	// Registerer receives the handler's metrics; default a private registry (not exported).
	Registerer prometheus.Registerer
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Validate reports the first missing or out-of-range field of c. A Config that passes Validate
// is accepted by New.
func (c Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("grayscale config: Store is required")
	case c.OutputBucket == "":
		return errors.New("grayscale config: OutputBucket is required")
	case len(c.OutputPrefix) >= maxKeyLen:
		return fmt.Errorf("grayscale config: OutputPrefix is %d bytes, leaving no room for a key (S3 keys are at most %d bytes)", len(c.OutputPrefix), maxKeyLen)
	case c.MaxPixels < 0:
		return fmt.Errorf("grayscale config: MaxPixels %d is negative", c.MaxPixels)
	case c.MaxBytes < 0:
		return fmt.Errorf("grayscale config: MaxBytes %d is negative", c.MaxBytes)
	case c.JPEGQuality < 0 || c.JPEGQuality > 100:
		return fmt.Errorf("grayscale config: JPEGQuality %d is outside 1–100 (0 for the default)", c.JPEGQuality)
	case c.PixelBudget < 0:
		return fmt.Errorf("grayscale config: PixelBudget %d is negative", c.PixelBudget)
	case c.MemoryBudget < 0:
		return fmt.Errorf("grayscale config: MemoryBudget %d is negative", c.MemoryBudget)
	case c.MemoryBudget == 0 && c.PixelBudget > 0 && c.PixelBudget < c.withDefaults().MaxPixels:
		return fmt.Errorf("grayscale config: PixelBudget %d is less than MaxPixels %d, so the largest accepted image would never fit",
			c.PixelBudget, c.withDefaults().MaxPixels)
	}
	return nil
}

// withDefaults returns c with the zero values of its optional fields replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.MaxPixels == 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.JPEGQuality == 0 {
		c.JPEGQuality = DefaultJPEGQuality
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = defaultMemoryBudget(c.PixelBudget, c.MaxPixels, debug.SetMemoryLimit(-1))
	}
	return c
}

// minDefaultMemoryBudget is the least default memory budget without a memory limit, so that a
// small MaxPixels still admits a body of MaxBytes.
const minDefaultMemoryBudget = 256 << 20

// defaultMemoryBudget is Config.MemoryBudget's default for a PixelBudget, a MaxPixels and a Go
// memory limit (math.MaxInt64 when there is none).
func defaultMemoryBudget(pixelBudget, maxPixels, memLimit int64) int64 {
	const rgba = 4
	switch {
	case pixelBudget > 0:
		if pixelBudget > math.MaxInt64/rgba {
			return math.MaxInt64
		}
		return pixelBudget * rgba
	case memLimit > 0 && memLimit < math.MaxInt64:
		return memLimit / DefaultMemoryLimitShare
	case maxPixels > math.MaxInt64/(DefaultPixelBudgetImages*rgba):
		return math.MaxInt64
	}
	return max(DefaultPixelBudgetImages*maxPixels*rgba, minDefaultMemoryBudget)
}
