package jpegluma

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Encoding codes for the Annex K luminance tables, built once.
var (
	dcCode, dcSize = codes(&stdDCLumaCounts, stdDCLumaValues)
	acCode, acSize = codes(&stdACLumaCounts, stdACLumaValues)
)

// bitWriter appends entropy-coded bits to out, stuffing a zero byte after each 0xFF.
type bitWriter struct {
	out []byte
	acc uint64 // the low n bits are pending, most significant first
	n   uint
}

// put appends the low size bits of v (size at most 32).
func (w *bitWriter) put(v uint32, size uint8) {
	w.acc = w.acc<<size | uint64(v)&(1<<size-1)
	w.n += uint(size)
	if w.n < 32 {
		return
	}
	// Four bytes at once unless one of them is 0xFF and needs a stuffed zero after it.
	if x := uint32(w.acc >> (w.n - 32)); (^x-0x01010101)&x&0x80808080 == 0 {
		w.out = binary.BigEndian.AppendUint32(w.out, x)
		w.n -= 32
		return
	}
	w.writeBytes()
}

// writeBytes appends every whole byte pending, stuffing a zero after each 0xFF.
func (w *bitWriter) writeBytes() {
	for w.n >= 8 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		if b == 0xFF {
			w.out = append(w.out, 0xFF, 0x00)
		} else {
			w.out = append(w.out, b)
		}
	}
}

// flush pads the last byte with one bits and writes out everything pending.
func (w *bitWriter) flush() {
	if pad := (8 - w.n%8) % 8; pad > 0 {
		w.put(1<<pad-1, uint8(pad))
	}
	w.writeBytes()
}

// category returns the magnitude category of v (T.81 F.1.2.1) and the bits that code it.
func category(v int32) (uint8, uint32) {
	a := v
	if v < 0 {
		a = -v
		v--
	}
	return uint8(bits.Len32(uint32(a))), uint32(v)
}

// encodeBlock requantises (when the output quantisation differs) and entropy-codes one block,
// visiting only its non-zero coefficients.
func (t *transcoder) encodeBlock(ref blockRef) {
	b := ref.c
	if t.requant {
		b[0] = t.rq[0].apply(b[0]) // DC is not in the mask
		for m := *ref.nz &^ 1 & t.rqMask; m != 0; m &= m - 1 {
			k := bits.TrailingZeros64(m)
			b[k] = t.rq[k].apply(b[k])
		}
	}
	// The clamps only matter for hostile input: a valid 8-bit JPEG's DC is within ±1024 and its
	// AC coefficients within ±1023, which the Annex K tables' categories cover.
	dc := min(max(int32(b[0]), -1024), 1023)
	s, v := category(dc - t.prevDC)
	t.prevDC = dc
	t.w.put(uint32(dcCode[s])<<s|v&(1<<s-1), dcSize[s]+s)
	last := 0 // index of the last coefficient written
	for m := *ref.nz &^ 1; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		c := int32(b[k])
		if c == 0 { // requantised to zero
			continue
		}
		run := k - last - 1
		for run > 15 {
			t.w.put(uint32(acCode[0xF0]), acSize[0xF0])
			run -= 16
		}
		s, v := category(min(max(c, -1023), 1023))
		sym := byte(run<<4) | s
		t.w.put(uint32(acCode[sym])<<s|v&(1<<s-1), acSize[sym]+s)
		last = k
	}
	if last < 63 {
		t.w.put(uint32(acCode[0x00]), acSize[0x00])
	}
}

// requantiser maps a coefficient from one quantiser to another, rounding half away from zero:
// c·from/to. It multiplies by a 48-bit fixed-point reciprocal of to instead of dividing. With
// from ≤ to (it only ever coarsens), |c| ≤ 2^15 and to < 2^16, the product stays below 2^64 and
// the reciprocal's error stays below 2^-17, less than the 1/to gap to the next integer, so the
// quotient is exact.
type requantiser struct {
	from, half uint64
	recip      uint64 // ceil(2^48 / to)
}

func newRequantiser(from, to uint16) requantiser {
	return requantiser{from: uint64(from), half: uint64(to / 2), recip: (1<<48 + uint64(to) - 1) / uint64(to)}
}

func (r requantiser) apply(c int16) int16 {
	// Branch-free on the sign, which is as good as random.
	sign := int64(c >> 15) // 0 or -1
	a := uint64((int64(c) ^ sign) - sign)
	q := int64((a*r.from + r.half) * r.recip >> 48)
	return int16((q ^ sign) - sign)
}

// writeHeader appends SOI, the quantisation and Huffman tables, a one-component baseline frame
// header and the scan header.
func (t *transcoder) writeHeader(out []byte) []byte {
	out = append(out, 0xFF, 0xD8)
	// Quantisers above 255 (an input with 16-bit tables, quality below about 25) need a 16-bit
	// table, which baseline does not allow: the frame is then extended sequential (SOF1), the
	// same Huffman coding otherwise.
	wide := slices.Max(t.quant[:]) > 255
	sof := byte(0xC0)
	if wide {
		sof = 0xC1
		out = append(out, 0xFF, 0xDB, 0, 131, 0x10)
		for _, q := range t.quant {
			out = append(out, byte(q>>8), byte(q))
		}
	} else {
		out = append(out, 0xFF, 0xDB, 0, 67, 0x00)
		for _, q := range t.quant {
			out = append(out, byte(q))
		}
	}
	w, h := t.f.width, t.f.height
	out = append(out, 0xFF, sof, 0, 11, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	out = appendDHT(out, 0x00, &stdDCLumaCounts, stdDCLumaValues)
	out = appendDHT(out, 0x10, &stdACLumaCounts, stdACLumaValues)
	return append(out, 0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0)
}

func appendDHT(out []byte, classID byte, counts *[16]byte, values []byte) []byte {
	n := 2 + 1 + 16 + len(values)
	out = append(out, 0xFF, 0xC4, byte(n>>8), byte(n), classID)
	out = append(out, counts[:]...)
	return append(out, values...)
}

// finish ends the entropy-coded data and appends EOI.
func (t *transcoder) finish() []byte {
	t.w.flush()
	return append(t.w.out, 0xFF, 0xD9)
}
