package grayscale

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// pixelBudget bounds the pixels of all images a Handler holds decoded at once. Each image
// acquires its width×height (from the header) before it is decoded and releases it once its
// output is encoded.
type pixelBudget struct {
	size int64
	sem  *semaphore.Weighted

	// Test hooks, nil in production: onWait runs when an acquisition has to wait, onAcquire
	// after pixels are acquired and onRelease just before they are released.
	onWait, onAcquire, onRelease func(pixels int64)
}

func newPixelBudget(size int64) *pixelBudget {
	return &pixelBudget{size: size, sem: semaphore.NewWeighted(size)}
}

// acquire waits until pixels fit in the budget and returns the function that gives them back,
// or ctx's error (transient) if ctx ends first. pixels must be at most the budget's size;
// checkImage guarantees it because Config.Validate keeps PixelBudget >= MaxPixels.
func (b *pixelBudget) acquire(ctx context.Context, pixels int64) (release func(), err error) {
	if pixels > b.size {
		// Unreachable through Handle; refusing beats blocking forever.
		return nil, fmt.Errorf("image of %d pixels exceeds the pixel budget of %d", pixels, b.size)
	}
	if !b.sem.TryAcquire(pixels) {
		if b.onWait != nil {
			b.onWait(pixels)
		}
		if err := b.sem.Acquire(ctx, pixels); err != nil {
			return nil, fmt.Errorf("waiting for %d pixels of the pixel budget: %w", pixels, err)
		}
	}
	if b.onAcquire != nil {
		b.onAcquire(pixels)
	}
	return func() {
		if b.onRelease != nil { // before the pixels become available to a waiter
			b.onRelease(pixels)
		}
		b.sem.Release(pixels)
	}, nil
}
