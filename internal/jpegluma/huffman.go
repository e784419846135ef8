package jpegluma

// lookBits is how many bits the fast Huffman lookup decodes at once; longer codes take the
// canonical-code path.
const lookBits = 9

// huffTable decodes one Huffman table. Tables are immutable once built; a DHT segment that
// redefines a slot builds a new one, so each scan keeps the tables in force when it began.
type huffTable struct {
	fast    [1 << lookBits]uint16 // length<<8 | symbol for codes of at most lookBits bits, 0 if longer
	maxCode [17]int32             // largest code of each length, -1 if there is none
	valPtr  [17]int32             // index in symbols of the first code of each length, minus that code
	symbols []byte
}

// newHuffTable builds a decoder from a DHT table's code counts per length and its symbols,
// checking that the counts describe a valid prefix code.
func newHuffTable(counts *[16]byte, symbols []byte) (*huffTable, bool) {
	t := &huffTable{symbols: symbols}
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := int(counts[l-1])
		t.maxCode[l] = -1
		if int(code)+n > 1<<l { // more codes than this length allows: not a prefix code
			return nil, false
		}
		if n > 0 {
			t.valPtr[l] = int32(k) - code
			for i := 0; i < n; i++ {
				if l <= lookBits {
					shift := lookBits - l
					first := int(code) << shift
					for j := 0; j < 1<<shift; j++ {
						t.fast[first+j] = uint16(l)<<8 | uint16(symbols[k])
					}
				}
				code++
				k++
			}
			t.maxCode[l] = code - 1
		}
		code <<= 1
	}
	return t, true
}

// codes returns the canonical code and length of every symbol of a DHT table, for encoding.
func codes(counts *[16]byte, symbols []byte) (code [256]uint16, size [256]uint8) {
	c, k := uint16(0), 0
	for l := 1; l <= 16; l++ {
		for i := 0; i < int(counts[l-1]); i++ {
			code[symbols[k]], size[symbols[k]] = c, uint8(l)
			c++
			k++
		}
		c <<= 1
	}
	return code, size
}

// bitReader reads the entropy-coded data of one scan, which lies in data[pos:end]. It removes
// the stuffed zero byte after each 0xFF and stops at markers (RSTn inside the scan, or the scan's
// end), feeding zero bits instead; pad counts those, so that consuming any of them, which means
// the data ended early, is detected. Its value is the whole decoder position, which is what lets
// a scan be suspended between bands and resumed.
type bitReader struct {
	data []byte
	pos  int
	end  int
	acc  uint64 // the next n bits, most significant first
	n    int
	pad  int // zero bits at the end of acc that are not data
}

// fill tops acc up to more than 56 bits.
func (br *bitReader) fill() {
	for br.n <= 56 {
		var b byte
		switch {
		case br.pos >= br.end:
			br.pad += 8
		case br.data[br.pos] != 0xFF:
			b = br.data[br.pos]
			br.pos++
		case br.pos+1 < br.end && br.data[br.pos+1] == 0x00:
			b = 0xFF
			br.pos += 2
		default: // a marker: RSTn, or fill bytes before one
			br.pad += 8
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// overrun reports whether more bits were consumed than the data held.
func (br *bitReader) overrun() bool { return br.pad > br.n }

// bits consumes and returns the next s bits (s at most 16).
func (br *bitReader) bits(s int) int32 {
	if s == 0 {
		return 0
	}
	if br.n < s {
		br.fill()
	}
	v := int32(br.acc >> (64 - s))
	br.acc <<= s
	br.n -= s
	return v
}

// bit consumes and returns the next bit.
func (br *bitReader) bit() bool {
	if br.n < 1 {
		br.fill()
	}
	v := br.acc>>63 != 0
	br.acc <<= 1
	br.n--
	return v
}

// receiveExtend consumes s bits and returns them as the signed value of size category s
// (T.81 F.2.2.1).
func (br *bitReader) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	v := br.bits(s)
	// Without a branch (the sign is as good as random): values below 2^(s-1) are negative.
	return v + (v-1<<(s-1))>>31&(-1<<s+1)
}

// decode consumes one Huffman code of t and returns its symbol; ok is false if the next 16
// bits are not a code of t.
func (br *bitReader) decode(t *huffTable) (sym byte, ok bool) {
	if br.n < 16 {
		br.fill()
	}
	if e := t.fast[br.acc>>(64-lookBits)]; e != 0 {
		l := int(e >> 8)
		br.acc <<= l
		br.n -= l
		return byte(e), true
	}
	for l := lookBits + 1; l <= 16; l++ {
		code := int32(br.acc >> (64 - l))
		if code <= t.maxCode[l] {
			br.acc <<= l
			br.n -= l
			return t.symbols[t.valPtr[l]+code], true
		}
	}
	return 0, false
}

// restart discards the bits left before a restart marker and consumes the marker, which must
// be RSTn for n = index mod 8.
func (br *bitReader) restart(index int) bool {
	br.acc, br.n, br.pad = 0, 0, 0
	p := br.pos
	if p >= br.end || br.data[p] != 0xFF {
		return false
	}
	for p+1 < br.end && br.data[p+1] == 0xFF { // fill bytes
		p++
	}
	if p+1 >= br.end || br.data[p+1] != 0xD0+byte(index&7) {
		return false
	}
	br.pos = p + 2
	return true
}
