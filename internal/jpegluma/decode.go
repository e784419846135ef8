package jpegluma

// scanState is a scan's decoder, suspended between bands.
type scanState struct {
	*scan
	br     bitReader
	eobrun int
	pred   [4]int32 // DC predictor per scan component
	next   int      // next MCU (interleaved) or block (non-interleaved) to decode
	units  int      // MCUs or blocks in the scan
}

// sat16 converts v to int16, saturating: only hostile input has coefficients out of range.
func sat16(v int32) int16 { return int16(min(max(v, -32768), 32767)) }

// decodeUnits decodes st's MCUs or blocks up to end (exclusive).
func (t *transcoder) decodeUnits(st *scanState, r0, end int) error {
	var (
		scratchC  [64]int16
		scratchNZ uint64
		scratch   = blockRef{c: &scratchC, nz: &scratchNZ}
	)
	br := &st.br
	single := len(st.comps) == 1
	perRow := t.mcusX
	if single {
		perRow = t.bw
	}
	ux, uy := st.next%perRow, st.next/perRow // the next unit's column and row
	acFirst := single && st.ss > 0 && st.ah == 0
	for st.next < end {
		u := st.next
		if st.restart > 0 && u > 0 && u%st.restart == 0 {
			if !br.restart(u/st.restart - 1) {
				return formatErr(br.pos, "expected restart marker RST%d", (u/st.restart-1)&7)
			}
			st.eobrun = 0
			st.pred = [4]int32{}
		}
		switch {
		case acFirst && st.eobrun > 0:
			// Blocks in an end-of-band run of a first AC scan get nothing from it: pass them
			// all at once, up to the band's or the restart interval's end.
			skip := min(st.eobrun, end-u)
			if st.restart > 0 {
				skip = min(skip, st.restart-u%st.restart)
			}
			st.eobrun -= skip
			st.next += skip
			ux += skip
			uy += ux / perRow
			ux %= perRow
			continue
		case single:
			// Non-interleaved: the scan's only component is the luma.
			if err := t.decodeBlock(st, 0, t.block(r0, ux, uy)); err != nil {
				return err
			}
		default:
			for i, ci := range st.comps {
				c := t.f.comps[ci]
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						b := scratch
						if ci == 0 {
							b = t.block(r0, ux*c.h+h, uy*c.v+v)
						}
						if err := t.decodeBlock(st, i, b); err != nil {
							return err
						}
					}
				}
			}
		}
		if br.overrun() {
			return formatErr(br.pos, "entropy-coded data ends early")
		}
		st.next++
		if ux++; ux == perRow {
			ux, uy = 0, uy+1
		}
	}
	return nil
}

// decodeBlock decodes the part of block b that scan st codes; i is the component's index in
// the scan.
func (t *transcoder) decodeBlock(st *scanState, i int, ref blockRef) error {
	br := &st.br
	b := ref.c
	switch {
	case !t.f.progressive:
		if err := decodeDC(st, i); err != nil {
			return err
		}
		b[0] = sat16(st.pred[i])
		for k := 1; k < 64; k++ {
			rs, ok := br.decode(st.ac[i])
			if !ok {
				return formatErr(br.pos, "bad AC Huffman code")
			}
			r, s := int(rs>>4), int(rs&15)
			if s == 0 {
				if r != 15 {
					break // EOB
				}
				k += 15
				continue
			}
			k += r
			if k > 63 {
				return formatErr(br.pos, "AC coefficient run past the block")
			}
			b[k] = sat16(br.receiveExtend(s))
			*ref.nz |= 1 << k
		}
	case st.ss == 0 && st.ah == 0: // DC first scan
		if err := decodeDC(st, i); err != nil {
			return err
		}
		b[0] = sat16(st.pred[i] << st.al)
	case st.ss == 0: // DC refinement
		if br.bit() {
			b[0] |= 1 << st.al
		}
	case st.ah == 0:
		return t.acFirst(st, ref)
	default:
		return t.acRefine(st, ref)
	}
	return nil
}

// decodeDC decodes one DC difference of scan component i and adds it to its predictor.
func decodeDC(st *scanState, i int) error {
	s, ok := st.br.decode(st.dc[i])
	if !ok || s > 15 {
		return formatErr(st.br.pos, "bad DC Huffman code")
	}
	st.pred[i] += st.br.receiveExtend(int(s))
	return nil
}
