package jpegluma

// MaxScans bounds the scans of one file: a progressive file needs about a dozen (libjpeg-turbo
// refuses more than 500 with TJFLAG_LIMITSCANS), and a hostile one with thousands would make
// every band revisit all of them. A file with more is refused with a *LimitError.
const MaxScans = 256

// component is one frame component.
type component struct {
	id   byte
	h, v int // sampling factors
}

// scan is one scan (SOS segment and its entropy-coded data), with everything it needs to be
// decoded later: the Huffman tables and restart interval in force when it began.
type scan struct {
	comps      []int // frame component indices, in scan order
	dc, ac     []*huffTable
	ss, se     int
	ah, al     int
	restart    int // restart interval in MCUs, 0 for none
	start, end int // entropy-coded data: data[start:end], end at the next marker
}

// hasLuma reports whether the scan codes component 0, the luma.
func (s *scan) hasLuma() bool {
	for _, c := range s.comps {
		if c == 0 {
			return true
		}
	}
	return false
}

// frame is what the markers of a file say about it.
type frame struct {
	progressive   bool
	width, height int
	comps         []component
	hmax, vmax    int
	lumaTq        int        // luma's quantisation table slot
	quant         [64]uint16 // luma quantisation table (zigzag order), latched at luma's first scan
	scans         []scan
}

// parse reads every marker segment of data up to EOI and indexes its scans without decoding them.
func parse(data []byte) (*frame, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, formatErr(0, "no SOI marker")
	}
	var (
		f         frame
		haveFrame bool
		quant     [4]*[64]uint16
		dc, ac    [4]*huffTable
		restart   int
		adobe     = -1 // Adobe APP14 transform flag, -1 when absent
		latched   bool
	)
	pos := 2
	for {
		if pos >= len(data) || data[pos] != 0xFF {
			if pos >= len(data) {
				return nil, formatErr(pos, "data ends before EOI")
			}
			return nil, formatErr(pos, "expected a marker, found 0x%02x", data[pos])
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return nil, formatErr(pos, "data ends before EOI")
		}
		m := data[pos]
		pos++
		switch {
		case m == 0xD9: // EOI
			if !haveFrame || len(f.scans) == 0 {
				return nil, formatErr(pos, "EOI before any frame or scan")
			}
			if f.adobeRGB(adobe) {
				return nil, unsupported("RGB colour space")
			}
			return &f, nil
		case m >= 0xD0 && m <= 0xD7, m == 0x01, m == 0xD8: // RSTn out of place, TEM, SOI: no segment
			continue
		}
		if pos+2 > len(data) {
			return nil, formatErr(pos, "marker 0x%02x has no length", m)
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 || pos+n > len(data) {
			return nil, formatErr(pos, "marker 0x%02x segment length %d overruns the data", m, n)
		}
		seg := data[pos+2 : pos+n]
		segPos := pos
		pos += n
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC2: // SOF0 baseline, SOF1 extended, SOF2 progressive (Huffman)
			if haveFrame {
				return nil, formatErr(segPos, "second SOF marker")
			}
			if err := f.parseSOF(seg, segPos, m == 0xC2); err != nil {
				return nil, err
			}
			haveFrame = true
		case m == 0xC3:
			return nil, unsupported("lossless JPEG")
		case m >= 0xC5 && m <= 0xC7, m == 0xDE, m == 0xDF:
			return nil, unsupported("hierarchical JPEG")
		case m >= 0xC9 && m <= 0xCB, m >= 0xCD && m <= 0xCF, m == 0xCC:
			return nil, unsupported("arithmetic coding")
		case m == 0xC4: // DHT
			if err := parseDHT(seg, segPos, &dc, &ac); err != nil {
				return nil, err
			}
		case m == 0xDB: // DQT
			if err := parseDQT(seg, segPos, &quant); err != nil {
				return nil, err
			}
		case m == 0xDD: // DRI
			if len(seg) != 2 {
				return nil, formatErr(segPos, "DRI segment of %d bytes", len(seg))
			}
			restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDC:
			return nil, unsupported("DNL marker")
		case m == 0xEE: // APP14
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobe = int(seg[11])
			}
		case m == 0xDA: // SOS
			if !haveFrame {
				return nil, formatErr(segPos, "SOS before SOF")
			}
			if len(f.scans) >= MaxScans {
				return nil, limitErr("more than %d scans", MaxScans)
			}
			s, err := f.parseSOS(seg, segPos, &dc, &ac)
			if err != nil {
				return nil, err
			}
			if s.hasLuma() && !latched {
				tq := f.lumaTq
				if quant[tq] == nil {
					return nil, formatErr(segPos, "luma quantisation table %d is not defined", tq)
				}
				f.quant = *quant[tq]
				latched = true
			}
			s.restart = restart
			s.start = pos
			s.end = scanEnd(data, pos)
			pos = s.end
			f.scans = append(f.scans, s)
		}
	}
}

// scanEnd returns the offset of the first marker at or after pos that ends entropy-coded data:
// 0xFF followed by neither a stuffed 0x00, nor RSTn, nor another 0xFF (fill). It returns
// len(data) if there is none.
func scanEnd(data []byte, pos int) int {
	for {
		i := indexFF(data[pos:])
		if i < 0 {
			return len(data)
		}
		pos += i
		if pos+1 >= len(data) {
			return len(data)
		}
		switch b := data[pos+1]; {
		case b == 0x00, b >= 0xD0 && b <= 0xD7, b == 0xFF:
			pos++
		default:
			return pos
		}
	}
}

// adobeRGB reports whether a three-component frame holds RGB rather than YCbCr: an Adobe
// transform flag of 0, or (with no Adobe segment) component ids 'R', 'G', 'B'.
func (f *frame) adobeRGB(adobe int) bool {
	if len(f.comps) != 3 {
		return false
	}
	if adobe >= 0 {
		return adobe == 0
	}
	return f.comps[0].id == 'R' && f.comps[1].id == 'G' && f.comps[2].id == 'B'
}
