package jpegluma

import (
	"context"
	"math/bits"
)

// bandMCURows is how many MCU rows of the image are transcoded at a time.
const bandMCURows = 4

// Options tune Transcode. The zero value keeps the input's quantisation and has no pixel limit.
type Options struct {
	// Quality (1–100), when non-zero, caps the output's quality: each luma quantiser becomes the
	// coarser of the input's and the IJG/image/jpeg table for Quality, and the coefficients are
	// requantised to it. An input already coarser than Quality keeps its own quantisation.
	Quality int
	// MaxPixels, when positive, makes frames of more pixels a *LimitError.
	MaxPixels int64
}

// Transcode appends to dst a one-component baseline JPEG holding the luma of the JPEG in data
// and returns the extended slice. Width, height and (with Options.Quality 0) every decoded pixel
// equal the input's luma plane; no metadata is copied. Errors are *UnsupportedError,
// *FormatError, *LimitError or ctx's error; on error the returned slice is dst unchanged.
func Transcode(ctx context.Context, dst, data []byte, opt Options) ([]byte, error) {
	f, err := parse(data)
	if err != nil {
		return dst, err
	}
	if opt.MaxPixels > 0 && int64(f.width) > opt.MaxPixels/int64(f.height) {
		return dst, limitErr("%d×%d pixels, more than the limit of %d", f.width, f.height, opt.MaxPixels)
	}
	t := newTranscoder(f, data, opt)
	out := t.writeHeader(dst)
	t.w.out = out
	for r0 := 0; r0 < t.lumaRows; r0 += t.bandRows {
		if err := ctx.Err(); err != nil {
			return dst, err
		}
		if err := t.band(r0); err != nil {
			return dst, err
		}
	}
	return t.finish(), nil
}

// transcoder holds the state of one Transcode call.
type transcoder struct {
	f    *frame
	data []byte

	mcusX, mcusY int // MCUs of interleaved scans
	bw, bh       int // luma blocks in a non-interleaved scan and in the output
	storeW       int // luma blocks per stored row: MCU-padded, so interleaved scans fit
	lumaRows     int // luma block rows covered by MCUs
	bandRows     int // luma block rows per band: a whole number of MCU rows
	coef         []int16
	nz           []uint64 // per stored block: bit k set when coefficient k is non-zero

	scans   []*scanState // the scans that code luma, in file order
	quantIn [64]uint16
	quant   [64]uint16 // output quantisation, zigzag order
	requant bool       // quant differs from quantIn
	rqMask  uint64     // coefficients whose quantiser differs
	rq      [64]requantiser
	w       bitWriter
	prevDC  int32
}

// scanState is a scan's decoder, suspended between bands.
type scanState struct {
	*scan
	br     bitReader
	eobrun int
	pred   [4]int32 // DC predictor per scan component
	next   int      // next MCU (interleaved) or block (non-interleaved) to decode
	units  int      // MCUs or blocks in the scan
}

func newTranscoder(f *frame, data []byte, opt Options) *transcoder {
	t := &transcoder{f: f, data: data}
	lh, lv := f.comps[0].h, f.comps[0].v
	t.mcusX = ceilDiv(f.width, 8*f.hmax)
	t.mcusY = ceilDiv(f.height, 8*f.vmax)
	t.bw = ceilDiv(f.width, 8) // luma is the most sampled component, so it is full size
	t.bh = ceilDiv(f.height, 8)
	t.storeW = max(t.mcusX*lh, t.bw)
	t.lumaRows = max(t.mcusY*lv, t.bh)
	t.bandRows = bandMCURows * lv
	t.coef = make([]int16, t.bandRows*t.storeW*64)
	t.nz = make([]uint64, t.bandRows*t.storeW)
	for i := range f.scans {
		s := &f.scans[i]
		if !s.hasLuma() {
			continue // chroma only: never decoded
		}
		st := &scanState{scan: s, br: bitReader{data: data, pos: s.start, end: s.end}}
		if len(s.comps) > 1 {
			st.units = t.mcusX * t.mcusY
		} else {
			st.units = t.bw * t.bh
		}
		t.scans = append(t.scans, st)
	}
	t.quantIn = f.quant
	t.quant = f.quant
	if opt.Quality > 0 {
		q := qualityTable(opt.Quality)
		for k := range t.quant {
			if q[k] > t.quant[k] {
				t.rq[k] = newRequantiser(t.quant[k], q[k])
				t.quant[k] = q[k]
				t.rqMask |= 1 << k
				t.requant = true
			} else {
				t.rq[k] = newRequantiser(t.quant[k], t.quant[k])
			}
		}
	}
	return t
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// sat16 converts v to int16, saturating: only hostile input has coefficients out of range.
func sat16(v int32) int16 { return int16(min(max(v, -32768), 32767)) }

// band decodes luma block rows [r0, r0+bandRows) from every luma scan, then encodes them.
func (t *transcoder) band(r0 int) error {
	clear(t.coef)
	clear(t.nz)
	r1 := r0 + t.bandRows
	lv := t.f.comps[0].v
	for _, st := range t.scans {
		var end int
		if len(st.comps) > 1 {
			end = min(r1/lv, t.mcusY) * t.mcusX
		} else {
			end = min(r1, t.bh) * t.bw
		}
		if err := t.decodeUnits(st, r0, end); err != nil {
			return err
		}
	}
	for by := r0; by < min(r1, t.bh); by++ {
		for bx := 0; bx < t.bw; bx++ {
			t.encodeBlock(t.block(r0, bx, by))
		}
	}
	return nil
}

// blockRef is a block's coefficients (zigzag order) and the mask of the non-zero ones.
type blockRef struct {
	c  *[64]int16
	nz *uint64
}

// block returns luma block (bx, by), which lies in the band at r0.
func (t *transcoder) block(r0, bx, by int) blockRef {
	i := (by-r0)*t.storeW + bx
	return blockRef{c: (*[64]int16)(t.coef[i*64 : i*64+64]), nz: &t.nz[i]}
}

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

// acFirst decodes a block of a progressive AC first scan (T.81 G.1.2.2).
func (t *transcoder) acFirst(st *scanState, ref blockRef) error {
	if st.eobrun > 0 {
		st.eobrun--
		return nil
	}
	br := &st.br
	for k := st.ss; k <= st.se; k++ {
		rs, ok := br.decode(st.ac[0])
		if !ok {
			return formatErr(br.pos, "bad AC Huffman code")
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r == 15 {
				k += 15
				continue
			}
			st.eobrun = 1<<r - 1 // this block is the first of the run
			if r > 0 {
				st.eobrun += int(br.bits(r))
			}
			return nil
		}
		k += r
		if k > st.se {
			return formatErr(br.pos, "AC coefficient past the spectral band")
		}
		ref.c[k] = sat16(br.receiveExtend(s) << st.al)
		*ref.nz |= 1 << k
	}
	return nil
}

// acRefine decodes a block of a progressive AC refinement scan (T.81 G.1.2.3): new coefficients
// of magnitude 1<<al, and one correction bit for each coefficient that was already non-zero.
func (t *transcoder) acRefine(st *scanState, ref blockRef) error {
	br := &st.br
	p1 := int16(1) << st.al
	m1 := int16(-1) << st.al
	k := st.ss
	if st.eobrun == 0 {
	coefs:
		for ; k <= st.se; k++ {
			rs, ok := br.decode(st.ac[0])
			if !ok {
				return formatErr(br.pos, "bad AC Huffman code")
			}
			r, s := int(rs>>4), int(rs&15)
			var val int16
			switch {
			case s == 1:
				val = m1 + p1<<1&-int16(br.bits(1)) // p1 for a 1 bit, m1 for a 0
			case s != 0:
				return formatErr(br.pos, "refinement coefficient of size %d", s)
			case r != 15: // EOB run: the rest of this block and r more blocks
				st.eobrun = 1 << r
				if r > 0 {
					st.eobrun += int(br.bits(r))
				}
				break coefs
			}
			// Skip r zero coefficients (r = 15 with ZRL's s = 0: the 16th zero is passed by
			// the loop's k++), refining the non-zero ones on the way; a new coefficient goes in
			// the zero after them.
			k = refineSkip(br, ref, k, st.se, r, st.al)
			if val != 0 {
				if k > st.se {
					return formatErr(br.pos, "refinement coefficient past the spectral band")
				}
				ref.c[k] = val
				*ref.nz |= 1 << k
			}
		}
	}
	if st.eobrun > 0 {
		refineSkip(br, ref, k, st.se, 64, st.al) // no zero is the target: refine to the band's end
		st.eobrun--
	}
	return nil
}

// refineSkip walks the block from k to at most se, reading a correction bit for each non-zero
// coefficient (a 1 moves it one step of p1 away from zero) and passing zero coefficients until
// the (r+1)-th, whose index it returns; se+1 if the band ends first. It visits only the
// non-zero coefficients, through the block's mask: refinement scans are where progressive files
// spend most of their time.
func refineSkip(br *bitReader, ref blockRef, k, se, r, al int) int {
	p1 := int16(1) << al
	band := ^uint64(0) << k & (^uint64(0) >> (63 - se))
	nz := *ref.nz & band
	target := se + 1
	if zeros := ^*ref.nz & band; r < 64 {
		for ; r > 0 && zeros != 0; r-- {
			zeros &= zeros - 1
		}
		if zeros != 0 {
			target = bits.TrailingZeros64(zeros)
			nz &= 1<<target - 1
		}
	}
	b := ref.c
	acc, n := br.acc, br.n
	for ; nz != 0; nz &= nz - 1 {
		if n < 1 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		bit := int16(acc >> 63)
		acc <<= 1
		n--
		// Without branches (the bits are as good as random, so branches would mispredict):
		// add p1 away from zero when the bit is 1 and the coefficient lacks that bit already.
		k := bits.TrailingZeros64(nz)
		c := b[k]
		apply := bit &^ (c >> al & 1)
		sign := c >> 15 // 0 or -1
		b[k] = c + ((p1^sign)-sign)&-apply
	}
	br.acc, br.n = acc, n
	return target
}
