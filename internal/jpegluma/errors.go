package jpegluma

import "fmt"

// UnsupportedError reports a JPEG that may be valid but that Transcode does not handle; a full
// decoder may still convert it.
type UnsupportedError struct {
	What string // e.g. "arithmetic coding", "4 components (CMYK or YCCK)"
}

func (e *UnsupportedError) Error() string { return "jpegluma: unsupported JPEG: " + e.What }

// FormatError reports data that is not a well-formed JPEG: a bad marker segment, a Huffman code
// that decodes to nothing, entropy-coded data that ends early, a missing EOI.
type FormatError struct {
	Offset int    // byte offset in the input where the problem was found
	What   string // what was wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("jpegluma: malformed JPEG at byte %d: %s", e.Offset, e.What)
}

// LimitError reports a JPEG that exceeds a limit on the work or memory it may cost (more scans
// than MaxScans, more pixels than Options.MaxPixels). A full decoder would cost at least as much,
// so callers must refuse the file, not fall back to one.
type LimitError struct {
	What string // e.g. "300 scans, more than the limit of 256"
}

func (e *LimitError) Error() string { return "jpegluma: JPEG over a limit: " + e.What }

func limitErr(format string, args ...any) error {
	return &LimitError{What: fmt.Sprintf(format, args...)}
}

func formatErr(off int, format string, args ...any) error {
	return &FormatError{Offset: off, What: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &UnsupportedError{What: fmt.Sprintf(format, args...)}
}
