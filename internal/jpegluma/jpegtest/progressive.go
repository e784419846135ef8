// Package jpegtest builds JPEG files for tests and benchmarks: progressive files of any size,
// sampling and number of scans whose coefficients are all zero, so that they are tiny whatever
// their dimensions. They are what a decoding bomb looks like: a hostile file that costs a decoder
// a pass over every block per scan, and memory for every coefficient, for a few bytes per scan.
// Only tests import it.
package jpegtest

import (
	"encoding/binary"
	"fmt"
)

// Progressive describes a progressive JPEG to build.
type Progressive struct {
	Width, Height int
	// Sampling holds each component's sampling factors as h<<4 | v: one entry for a grayscale
	// file, three for YCbCr (0x11, 0x11, 0x11 is 4:4:4; 0x22, 0x11, 0x11 is 4:2:0), four for
	// CMYK (an Adobe segment is written so decoders read it as such).
	Sampling []byte
	// Scans is the total number of scans: one interleaved DC scan, then single-component AC
	// scans (spectral bands 1–63 of each component in turn, then successive-approximation
	// refinements of them) until Scans is reached. At least 1.
	Scans int
	// Orientation, when non-zero, adds an EXIF segment with this orientation (1–8).
	Orientation uint16
}

// Build returns the JPEG file p describes.
func (p Progressive) Build() []byte {
	if p.Width <= 0 || p.Height <= 0 || p.Width > 65535 || p.Height > 65535 || len(p.Sampling) == 0 || p.Scans < 1 {
		panic(fmt.Sprintf("jpegtest: invalid %+v", p))
	}
	b := p.appendHeader([]byte{0xFF, 0xD8})
	b = p.appendDCScan(b)
	for i := 1; i < p.Scans; i++ {
		b = p.appendACScan(b, i)
	}
	return append(b, 0xFF, 0xD9)
}

// maxSampling returns the largest horizontal and vertical sampling factors (1, 1 for one
// component, whose factors play no role).
func (p Progressive) maxSampling() (hmax, vmax int) {
	hmax, vmax = 1, 1
	if len(p.Sampling) == 1 {
		return 1, 1
	}
	for _, s := range p.Sampling {
		hmax, vmax = max(hmax, int(s>>4)), max(vmax, int(s&15))
	}
	return hmax, vmax
}

// appendHeader appends the segments before the first scan: EXIF and Adobe when asked for, a
// quantisation table, the SOF2 frame header and the Huffman tables.
func (p Progressive) appendHeader(b []byte) []byte {
	if p.Orientation != 0 {
		b = appendEXIF(b, p.Orientation)
	}
	if len(p.Sampling) == 4 {
		b = segment(b, 0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")) // transform 0: CMYK
	}
	// One quantisation table of ones.
	dqt := make([]byte, 65)
	for i := 1; i < 65; i++ {
		dqt[i] = 1
	}
	b = segment(b, 0xDB, dqt)
	// SOF2.
	sof := []byte{8, byte(p.Height >> 8), byte(p.Height), byte(p.Width >> 8), byte(p.Width), byte(len(p.Sampling))}
	for i, s := range p.Sampling {
		sof = append(sof, byte(i+1), s, 0)
	}
	b = segment(b, 0xC2, sof)
	// DC table 0: the one-bit code 0 for a difference of category 0. AC table 0: EOB14 as the
	// one-bit code 0 and EOB0–EOB13 as five-bit codes, so any end-of-band run is cheap.
	dht := []byte{0x00, 1}
	dht = append(dht, make([]byte, 15)...)
	dht = append(dht, 0)
	ac := []byte{0x10, 1, 0, 0, 0, 14}
	ac = append(ac, make([]byte, 11)...)
	ac = append(ac, 0xE0)
	for n := 0; n < 14; n++ {
		ac = append(ac, byte(n<<4))
	}
	return segment(b, 0xC4, append(dht, ac...))
}

// appendDCScan appends the DC scan, interleaved: one bit per block.
func (p Progressive) appendDCScan(b []byte) []byte {
	nc := len(p.Sampling)
	hmax, vmax := p.maxSampling()
	mcusX, mcusY := ceilDiv(p.Width, 8*hmax), ceilDiv(p.Height, 8*vmax)
	sos := []byte{byte(nc)}
	perMCU := 0
	for i, s := range p.Sampling {
		sos = append(sos, byte(i+1), 0x00)
		if nc == 1 {
			perMCU = 1
		} else {
			perMCU += int(s>>4) * int(s&15)
		}
	}
	if nc == 1 {
		mcusX, mcusY = ceilDiv(p.Width, 8), ceilDiv(p.Height, 8)
	}
	sos = append(sos, 0, 0, 0)
	b = segment(b, 0xDA, sos)
	var w bitWriter
	for range mcusX * mcusY * perMCU {
		w.put(0, 1)
	}
	return append(b, w.flush()...)
}

// appendACScan appends AC scan i (1 to Scans-1): first scans of single-coefficient bands at
// approximation 13, then refinements, each coding every block as end-of-band runs.
func (p Progressive) appendACScan(b []byte, i int) []byte {
	nc := len(p.Sampling)
	c := (i - 1) % nc
	k := 1 + ((i-1)/nc)%63
	level := (i - 1) / (nc * 63) // 0: first scan at Al 13; n: refinement to Al 13-n
	ah, al := 0, 13
	if level > 0 {
		ah, al = 14-level, 13-level
		if al < 0 {
			panic("jpegtest: too many scans")
		}
	}
	b = segment(b, 0xDA, []byte{1, byte(c + 1), 0x00, byte(k), byte(k), byte(ah<<4 | al)})
	hmax, vmax := p.maxSampling()
	s := p.Sampling[c]
	h, v := int(s>>4), int(s&15)
	if nc == 1 {
		h, v = hmax, vmax
	}
	blocks := ceilDiv(ceilDiv(p.Width*h, hmax), 8) * ceilDiv(ceilDiv(p.Height*v, vmax), 8)
	var w bitWriter
	for blocks > 0 {
		run := min(blocks, 1<<15-1)
		n := 14
		for 1<<n > run {
			n--
		}
		if n == 14 {
			w.put(0, 1)
		} else {
			w.put(0x10+uint32(n), 5)
		}
		w.put(uint32(run-1<<n), n)
		blocks -= run
	}
	return append(b, w.flush()...)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// segment appends a marker segment.
func segment(b []byte, marker byte, payload []byte) []byte {
	b = append(b, 0xFF, marker)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(payload)))
	return append(b, payload...)
}

// appendEXIF appends an APP1 EXIF segment whose IFD0 holds only Orientation.
func appendEXIF(b []byte, orientation uint16) []byte {
	t := []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08")
	t = binary.BigEndian.AppendUint16(t, 1)      // one entry
	t = binary.BigEndian.AppendUint16(t, 0x0112) // Orientation
	t = binary.BigEndian.AppendUint16(t, 3)      // SHORT
	t = binary.BigEndian.AppendUint32(t, 1)      // count
	t = binary.BigEndian.AppendUint16(t, orientation)
	t = append(t, 0, 0, 0, 0, 0, 0) // value padding, next IFD 0
	return segment(b, 0xE1, t)
}

// bitWriter writes entropy-coded bits, MSB first, with 0xFF byte stuffing.
type bitWriter struct {
	out  []byte
	acc  uint32
	bits int
}

func (w *bitWriter) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>i)&1
		w.bits++
		if w.bits == 8 {
			w.emit(byte(w.acc))
			w.acc, w.bits = 0, 0
		}
	}
}

func (w *bitWriter) emit(c byte) {
	w.out = append(w.out, c)
	if c == 0xFF {
		w.out = append(w.out, 0)
	}
}

// flush pads the last byte with one bits and returns the bytes.
func (w *bitWriter) flush() []byte {
	if w.bits > 0 {
		w.emit(byte(w.acc<<(8-w.bits) | (1<<(8-w.bits) - 1)))
		w.acc, w.bits = 0, 0
	}
	return w.out
}
