package grayscale

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/shardline/shardline/internal/jpegluma"
	"github.com/shardline/shardline/processor"
)

// Limits on the decoding work of one JPEG, checked from its markers before either decoder runs.
const (
	// maxJPEGScans is the most scans a JPEG may have, as in jpegluma (about a dozen is usual).
	maxJPEGScans = jpegluma.MaxScans
	// maxJPEGScanPasses bounds the blocks all scans of a JPEG decode together, in passes over
	// every block of the frame. A decoder visits every block of a component in each scan of it,
	// even when the scan codes nothing but an end-of-band run, so a progressive file can make it
	// do a pass over tens of millions of blocks for a few bytes: image/jpeg spends about 31 ms a
	// pass at 50 MP. Usual scan scripts take 5–6 passes (libjpeg's default: 5.3 for YCbCr, 6
	// for grayscale).
	maxJPEGScanPasses = 16
)

// jpegLayout is what a JPEG's marker segments say about its decoding cost.
type jpegLayout struct {
	sof           byte // the SOF marker: 0xC0 baseline, 0xC2 progressive, …; 0 if none was seen
	precision     int  // bits per sample
	width, height int
	comps         []jpegComp
	hmax, vmax    int
	adobe         int   // the Adobe APP14 transform flag, -1 when absent
	scans         int   // SOS segments seen
	scanBlocks    int64 // blocks decoded by all scans seen
}

// jpegComp is one frame component's sampling factors.
type jpegComp struct {
	id   byte
	h, v int
}

// progressive reports whether the frame is progressive (SOF2, SOF6, SOF10, SOF14).
func (l *jpegLayout) progressive() bool { return l.sof&3 == 2 }

// frameBlocks returns the blocks of all components of the frame (MCU-padded).
func (l *jpegLayout) frameBlocks() int64 {
	mx, my := ceilDiv(l.width, 8*l.hmax), ceilDiv(l.height, 8*l.vmax)
	var n int64
	for _, c := range l.comps {
		n += int64(mx*c.h) * int64(my*c.v)
	}
	return n
}

// samplesPerPixel returns the samples of all components per pixel: 1 for grayscale, 1.5 for
// 4:2:0, 3 for 4:4:4, 4 for 4:4:4:4 CMYK.
func (l *jpegLayout) samplesPerPixel() float64 {
	var s float64
	for _, c := range l.comps {
		s += float64(c.h*c.v) / float64(l.hmax*l.vmax)
	}
	return s
}

// jpegluma reports whether jpegluma transcodes a file of this layout (given an upright
// orientation): 8-bit Huffman-coded sequential or progressive, grayscale or YCbCr, with luma the
// most sampled component. A file it reports for may still fail in jpegluma on malformed data.
func (l *jpegLayout) jpegluma() bool {
	switch {
	case l.sof != 0xC0 && l.sof != 0xC1 && l.sof != 0xC2, l.precision != 8, len(l.comps) != 1 && len(l.comps) != 3:
		return false
	case len(l.comps) == 3 && (l.adobe == 0 || l.adobe < 0 && string([]byte{l.comps[0].id, l.comps[1].id, l.comps[2].id}) == "RGB"):
		return false
	}
	return len(l.comps) == 1 || l.comps[0].h == l.hmax && l.comps[0].v == l.vmax
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// scanJPEG walks the marker segments of the JPEG in data without decoding any entropy-coded
// data, as liberally as image/jpeg does (bytes between segments are skipped), so that it sees
// every scan a decoder would. It stops at EOI, at the end of data, at a segment that overruns
// data, or as soon as the file exceeds maxJPEGScans or maxJPEGScanPasses, which it reports as a
// permanent ReasonTooComplex. Malformed headers are left to the decoders to report.
func scanJPEG(data []byte) (jpegLayout, error) {
	l := jpegLayout{adobe: -1}
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return l, nil
	}
	var frameBlocks int64
	for pos := 2; pos+1 < len(data); {
		if data[pos] != 0xFF {
			i := bytes.IndexByte(data[pos:], 0xFF)
			if i < 0 {
				break
			}
			pos += i
			continue
		}
		m := data[pos+1]
		pos += 2
		switch {
		case m == 0xFF: // fill byte
			pos--
			continue
		case m == 0xD9: // EOI
			return l, nil
		case m == 0x00, m == 0x01, m == 0xD8, m >= 0xD0 && m <= 0xD7: // no segment
			continue
		}
		if pos+2 > len(data) {
			break
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 || pos+n > len(data) {
			break
		}
		seg := data[pos+2 : pos+n]
		pos += n
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			if l.sof != 0 || len(seg) < 6 {
				continue // image/jpeg refuses a second or short SOF
			}
			l.parseSOF(m, seg)
			if len(l.comps) > 0 {
				frameBlocks = l.frameBlocks()
			}
		case m == 0xEE: // APP14
			if t, ok := jpegluma.AdobeTransform(seg); ok {
				l.adobe = t
			}
		case m == 0xDA: // SOS
			l.scans++
			l.scanBlocks += l.sosBlocks(seg)
			switch {
			case l.scans > maxJPEGScans:
				return l, processor.Permanent(ReasonTooComplex, fmt.Errorf("JPEG has more than %d scans", maxJPEGScans))
			case frameBlocks > 0 && l.scanBlocks > maxJPEGScanPasses*frameBlocks:
				return l, processor.Permanent(ReasonTooComplex, fmt.Errorf("JPEG scans decode %d blocks, more than %d passes over its %d blocks",
					l.scanBlocks, maxJPEGScanPasses, frameBlocks))
			}
			pos = jpegluma.ScanEnd(data, pos)
		}
	}
	return l, nil
}

// parseSOF reads a frame header (T.81 B.2.2), leaving comps empty if it is malformed.
func (l *jpegLayout) parseSOF(m byte, seg []byte) {
	l.sof, l.precision = m, int(seg[0])
	l.height, l.width = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if nc < 1 || nc > 4 || len(seg) < 6+3*nc || l.width == 0 || l.height == 0 {
		return
	}
	l.hmax, l.vmax = 1, 1
	for i := range nc {
		c := seg[6+3*i:]
		h, v := max(1, int(c[1]>>4)), max(1, int(c[1]&15))
		if nc == 1 {
			h, v = 1, 1
		}
		l.comps = append(l.comps, jpegComp{id: c[0], h: h, v: v})
		l.hmax, l.vmax = max(l.hmax, h), max(l.vmax, v)
	}
}

// sosBlocks returns the blocks a scan with this header decodes: every block of each of its
// components (MCU-padded when interleaved), or 0 if the header names no known component.
func (l *jpegLayout) sosBlocks(seg []byte) int64 {
	if len(l.comps) == 0 || len(seg) < 1 || len(seg) < 1+2*int(seg[0]) {
		return 0
	}
	ns := int(seg[0])
	var blocks int64
	for i := range ns {
		for _, c := range l.comps {
			if c.id != seg[1+2*i] {
				continue
			}
			if ns == 1 { // non-interleaved: the component's own blocks
				w := ceilDiv(ceilDiv(l.width*c.h, l.hmax), 8)
				h := ceilDiv(ceilDiv(l.height*c.v, l.vmax), 8)
				blocks += int64(w) * int64(h)
			} else {
				blocks += int64(ceilDiv(l.width, 8*l.hmax)*c.h) * int64(ceilDiv(l.height, 8*l.vmax)*c.v)
			}
			break
		}
	}
	return blocks
}
