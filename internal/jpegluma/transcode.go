package jpegluma

import "context"

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
