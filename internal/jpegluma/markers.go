package jpegluma

import "bytes"

// ScanEnd returns the offset of the first marker at or after pos that ends the entropy-coded
// data of a scan starting at pos: 0xFF followed by neither a stuffed 0x00, nor RSTn, nor another
// 0xFF (fill). It returns len(data) if there is none. It reads no further than that marker.
func ScanEnd(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], 0xFF)
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

// AdobeTransform returns the colour transform flag of an APP14 segment's payload (0: none, RGB
// or CMYK; 1: YCbCr; 2: YCCK), and false if the segment is not Adobe's.
func AdobeTransform(app14 []byte) (transform int, ok bool) {
	if len(app14) >= 12 && string(app14[:5]) == "Adobe" {
		return int(app14[11]), true
	}
	return 0, false
}
