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

// parser is the state of one parse: the frame read so far and the tables and settings in force
// at the current marker.
type parser struct {
	data      []byte
	f         *frame
	haveFrame bool
	quant     [4]*[64]uint16
	dc, ac    [4]*huffTable
	restart   int  // restart interval in MCUs, 0 for none
	adobe     int  // Adobe APP14 transform flag, -1 when absent
	latched   bool // f.quant holds luma's table
}

// parse reads every marker segment of data up to EOI and indexes its scans without decoding them.
func parse(data []byte) (*frame, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, formatErr(0, "no SOI marker")
	}
	p := parser{data: data, f: new(frame), adobe: -1}
	pos := 2
	for {
		m, next, err := nextMarker(data, pos)
		if err != nil {
			return nil, err
		}
		pos = next
		switch {
		case m == 0xD9: // EOI
			return p.end(pos)
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
		if pos, err = p.segment(m, data[pos+2:pos+n], pos, pos+n); err != nil {
			return nil, err
		}
	}
}

// nextMarker reads the marker at data[pos], after any fill bytes (0xFF), and returns its code
// and the offset after it.
func nextMarker(data []byte, pos int) (m byte, next int, err error) {
	if pos >= len(data) || data[pos] != 0xFF {
		if pos >= len(data) {
			return 0, pos, formatErr(pos, "data ends before EOI")
		}
		return 0, pos, formatErr(pos, "expected a marker, found 0x%02x", data[pos])
	}
	for pos < len(data) && data[pos] == 0xFF {
		pos++
	}
	if pos >= len(data) {
		return 0, pos, formatErr(pos, "data ends before EOI")
	}
	return data[pos], pos + 1, nil
}

// end returns the frame at EOI (at pos), if it is one Transcode handles.
func (p *parser) end(pos int) (*frame, error) {
	if !p.haveFrame || len(p.f.scans) == 0 {
		return nil, formatErr(pos, "EOI before any frame or scan")
	}
	if p.f.adobeRGB(p.adobe) {
		return nil, unsupported("RGB colour space")
	}
	return p.f, nil
}

// segment reads the payload seg of a marker m segment that starts at segPos (its length field)
// and returns where the next marker is: next, the offset after the segment, or for SOS the end
// of the scan's entropy-coded data.
func (p *parser) segment(m byte, seg []byte, segPos, next int) (int, error) {
	var err error
	switch {
	case m == 0xC0 || m == 0xC1 || m == 0xC2: // SOF0 baseline, SOF1 extended, SOF2 progressive (Huffman)
		if p.haveFrame {
			return 0, formatErr(segPos, "second SOF marker")
		}
		err = p.f.parseSOF(seg, segPos, m == 0xC2)
		p.haveFrame = true
	case m == 0xC3:
		err = unsupported("lossless JPEG")
	case m >= 0xC5 && m <= 0xC7, m == 0xDE, m == 0xDF:
		err = unsupported("hierarchical JPEG")
	case m >= 0xC9 && m <= 0xCB, m >= 0xCD && m <= 0xCF, m == 0xCC:
		err = unsupported("arithmetic coding")
	case m == 0xC4: // DHT
		err = parseDHT(seg, segPos, &p.dc, &p.ac)
	case m == 0xDB: // DQT
		err = parseDQT(seg, segPos, &p.quant)
	case m == 0xDD: // DRI
		if len(seg) != 2 {
			return 0, formatErr(segPos, "DRI segment of %d bytes", len(seg))
		}
		p.restart = int(seg[0])<<8 | int(seg[1])
	case m == 0xDC:
		err = unsupported("DNL marker")
	case m == 0xEE: // APP14
		if t, ok := AdobeTransform(seg); ok {
			p.adobe = t
		}
	case m == 0xDA: // SOS
		return p.sos(seg, segPos, next)
	}
	return next, err
}

// sos indexes the scan whose header seg starts at segPos and whose entropy-coded data starts at
// pos, and returns the offset of the marker that ends that data.
func (p *parser) sos(seg []byte, segPos, pos int) (int, error) {
	f := p.f
	if !p.haveFrame {
		return 0, formatErr(segPos, "SOS before SOF")
	}
	if len(f.scans) >= MaxScans {
		return 0, limitErr("more than %d scans", MaxScans)
	}
	s, err := f.parseSOS(seg, segPos, &p.dc, &p.ac)
	if err != nil {
		return 0, err
	}
	if s.hasLuma() && !p.latched {
		tq := f.lumaTq
		if p.quant[tq] == nil {
			return 0, formatErr(segPos, "luma quantisation table %d is not defined", tq)
		}
		f.quant = *p.quant[tq]
		p.latched = true
	}
	s.restart = p.restart
	s.start = pos
	s.end = ScanEnd(p.data, pos)
	f.scans = append(f.scans, s)
	return s.end, nil
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
