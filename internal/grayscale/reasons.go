package grayscale

// Reason labels of the permanent errors Handle returns (see processor.ReasonOf). They are stable:
// they become metric labels and dead-letter reasons.
const (
	// ReasonTooLarge means the input object is larger than Config.MaxBytes.
	ReasonTooLarge = "too_large"
	// ReasonEmptyObject means the input object has zero bytes.
	ReasonEmptyObject = "empty_object"
	// ReasonNotAnImage means the input is not in any supported image format.
	ReasonNotAnImage = "not_an_image"
	// ReasonTooManyPixels means the image header declares more than Config.MaxPixels pixels, or
	// a zero width or height. The image is not decoded.
	ReasonTooManyPixels = "too_many_pixels"
	// ReasonTooComplex means decoding the image would cost far more work than its size
	// justifies: a JPEG with more scans, or scans decoding more blocks, than the limits
	// (docs/limits.md). It is refused before any decoder runs, and never retried.
	ReasonTooComplex = "too_complex"
	// ReasonOverMemoryBudget means the input body plus what converting it costs on its path
	// (bytes per pixel by format, docs/limits.md) exceed the Converter's whole memory budget, so
	// it could never be admitted. A larger budget (more memory) would convert it.
	ReasonOverMemoryBudget = "over_memory_budget"
	// ReasonCorruptImage means the input has a supported format's signature but its header or
	// data cannot be decoded.
	ReasonCorruptImage = "corrupt_image"
	// ReasonEncodeFailed means the grayscale image could not be encoded in the output format.
	ReasonEncodeFailed = "encode_failed"
	// ReasonAccessDenied means S3 denied access to the input or the output (403 AccessDenied).
	ReasonAccessDenied = "access_denied"
	// ReasonNoSuchBucket means the input or output bucket does not exist.
	ReasonNoSuchBucket = "no_such_bucket"
	// ReasonInvalidObjectState means the input is archived (e.g. S3 Glacier) and cannot be read
	// until it is restored.
	ReasonInvalidObjectState = "invalid_object_state"
	// ReasonInvalidKey means the store refused the input or output key as a name (longer than
	// it allows, or characters or path segments it does not accept, such as MinIO's ".." or
	// "//"). The output key is OutputPrefix + key unchanged, so such a key is never rewritten
	// into another one.
	ReasonInvalidKey = "invalid_key"
	// ReasonOutputKeyTooLong means OutputPrefix + key exceeds S3's 1,024-byte key limit.
	ReasonOutputKeyTooLong = "output_key_too_long"
	// ReasonOutputLoop means the event's object is in the output bucket under the output
	// prefix, so it is (or would be) one of this handler's own outputs: processing it would feed
	// outputs back in as inputs forever.
	ReasonOutputLoop = "output_loop"
	// ReasonInvalidEvent means the event has an empty bucket or key, or an op that is neither
	// put nor delete.
	ReasonInvalidEvent = "invalid_event"
)
