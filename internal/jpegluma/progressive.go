package jpegluma

import "math/bits"

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
