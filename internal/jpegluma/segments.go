package jpegluma

// parseSOF reads a frame header (T.81 B.2.2).
func (f *frame) parseSOF(seg []byte, off int, progressive bool) error {
	if len(seg) < 6 {
		return formatErr(off, "SOF segment of %d bytes", len(seg))
	}
	if seg[0] != 8 {
		return unsupported("%d-bit samples", seg[0])
	}
	f.progressive = progressive
	f.height = int(seg[1])<<8 | int(seg[2])
	f.width = int(seg[3])<<8 | int(seg[4])
	nc := int(seg[5])
	if f.width == 0 || f.height == 0 {
		return unsupported("frame of %d×%d (height from DNL)", f.width, f.height)
	}
	switch nc {
	case 1, 3:
	case 4:
		return unsupported("4 components (CMYK or YCCK)")
	default:
		return unsupported("%d components", nc)
	}
	if len(seg) != 6+3*nc {
		return formatErr(off, "SOF segment of %d bytes for %d components", len(seg), nc)
	}
	f.comps = make([]component, nc)
	for i := range f.comps {
		c := seg[6+3*i:]
		h, v, tq := int(c[1]>>4), int(c[1]&15), int(c[2])
		if h < 1 || h > 4 || v < 1 || v > 4 || tq > 3 {
			return formatErr(off, "component %d: sampling %d×%d, quantisation table %d", i, h, v, tq)
		}
		for j := 0; j < i; j++ {
			if f.comps[j].id == c[0] {
				return formatErr(off, "component id %d repeated", c[0])
			}
		}
		if nc == 1 { // one component: non-interleaved, so its sampling factors play no role
			h, v = 1, 1
		}
		f.comps[i] = component{id: c[0], h: h, v: v}
		f.hmax, f.vmax = max(f.hmax, h), max(f.vmax, v)
	}
	f.lumaTq = int(seg[8])
	if f.comps[0].h != f.hmax || f.comps[0].v != f.vmax {
		return unsupported("luma sampled %d×%d, below the maximum %d×%d", f.comps[0].h, f.comps[0].v, f.hmax, f.vmax)
	}
	return nil
}

// parseSOS reads a scan header (T.81 B.2.3) and checks it against the frame and the tables
// defined so far.
func (f *frame) parseSOS(seg []byte, off int, dc, ac *[4]*huffTable) (scan, error) {
	if len(seg) < 1 {
		return scan{}, formatErr(off, "empty SOS segment")
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return scan{}, formatErr(off, "SOS segment of %d bytes for %d components", len(seg), ns)
	}
	s := scan{comps: make([]int, ns), dc: make([]*huffTable, ns), ac: make([]*huffTable, ns)}
	blocks := 0
	for i := 0; i < ns; i++ {
		id, tables := seg[1+2*i], seg[2+2*i]
		ci := -1
		for j, c := range f.comps {
			if c.id == id {
				ci = j
			}
		}
		if ci < 0 {
			return scan{}, formatErr(off, "scan names component id %d, not in the frame", id)
		}
		for j := 0; j < i; j++ {
			if s.comps[j] == ci {
				return scan{}, formatErr(off, "scan names component id %d twice", id)
			}
		}
		td, ta := tables>>4, tables&15
		if td > 3 || ta > 3 {
			return scan{}, formatErr(off, "scan Huffman table ids %d/%d", td, ta)
		}
		s.comps[i], s.dc[i], s.ac[i] = ci, dc[td], ac[ta]
		blocks += f.comps[ci].h * f.comps[ci].v
	}
	if ns > 1 && blocks > 10 {
		return scan{}, formatErr(off, "interleaved scan with %d blocks per MCU", blocks)
	}
	p := seg[1+2*ns:]
	s.ss, s.se, s.ah, s.al = int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)
	if !f.progressive {
		if s.ss != 0 || s.se != 63 || s.ah != 0 || s.al != 0 {
			return scan{}, formatErr(off, "sequential scan with spectral selection %d–%d, approximation %d/%d", s.ss, s.se, s.ah, s.al)
		}
	} else {
		switch {
		case s.ss == 0 && s.se != 0, s.ss > s.se, s.se > 63, s.ss > 0 && ns != 1, s.al > 13, s.ah > 13,
			s.ah != 0 && s.ah != s.al+1:
			return scan{}, formatErr(off, "progressive scan with spectral selection %d–%d, approximation %d/%d, %d components",
				s.ss, s.se, s.ah, s.al, ns)
		}
	}
	// The tables this scan will decode with must exist now.
	for i := range s.comps {
		needDC := s.ss == 0 && s.ah == 0
		needAC := s.se > 0
		if (needDC && s.dc[i] == nil) || (needAC && s.ac[i] == nil) {
			return scan{}, formatErr(off, "scan uses a Huffman table that is not defined")
		}
	}
	return s, nil
}

// parseDHT reads Huffman table definitions (T.81 B.2.4.2).
func parseDHT(seg []byte, off int, dc, ac *[4]*huffTable) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return formatErr(off, "short DHT segment")
		}
		class, id := seg[0]>>4, seg[0]&15
		if class > 1 || id > 3 {
			return formatErr(off, "DHT class %d id %d", class, id)
		}
		var counts [16]byte
		copy(counts[:], seg[1:17])
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if total == 0 || total > 256 || len(seg) < 17+total {
			return formatErr(off, "DHT table with %d codes", total)
		}
		symbols := append([]byte(nil), seg[17:17+total]...)
		t, ok := newHuffTable(&counts, symbols)
		if !ok {
			return formatErr(off, "DHT code lengths do not form a prefix code")
		}
		if class == 0 {
			dc[id] = t
		} else {
			ac[id] = t
		}
		seg = seg[17+total:]
	}
	return nil
}

// parseDQT reads quantisation tables (T.81 B.2.4.1), kept in zigzag order as stored.
func parseDQT(seg []byte, off int, quant *[4]*[64]uint16) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if pq > 1 || tq > 3 {
			return formatErr(off, "DQT precision %d id %d", pq, tq)
		}
		size := 64 << pq
		if len(seg) < 1+size {
			return formatErr(off, "short DQT segment")
		}
		t := new([64]uint16)
		for k := range t {
			if pq == 0 {
				t[k] = uint16(seg[1+k])
			} else {
				t[k] = uint16(seg[1+2*k])<<8 | uint16(seg[2+2*k])
			}
			if t[k] == 0 {
				return formatErr(off, "DQT table %d has a zero quantiser", tq)
			}
		}
		quant[tq] = t
		seg = seg[1+size:]
	}
	return nil
}
