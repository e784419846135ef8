package grayscale

import (
	"bytes"
	"encoding/binary"
)

// exifOrientationTag is the TIFF/EXIF tag number of Orientation.
const exifOrientationTag = 0x0112

// jpegOrientation returns the EXIF Orientation (1–8) of the JPEG in data, or 0 when the file has
// no EXIF orientation or one that cannot be read. It scans only the marker segments before the
// first scan. Like imaging.AutoOrientation, which the slow path uses, it takes the first EXIF
// segment and ignores malformed or out-of-range values, so both paths orient a file alike.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 0
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return 0 // not at a marker: malformed
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2 // markers without a length
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan or end of image: no more headers
			return 0
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0
		}
		payload := data[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
			return tiffOrientation(payload[6:])
		}
		i += 2 + n
	}
	return 0
}

// tiffOrientation returns the Orientation entry of IFD0 of the TIFF structure in t (an EXIF
// payload), or 0 if there is none or it is malformed or out of range.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	count := int64(order.Uint16(t[ifd:]))
	for e := ifd + 2; e+12 <= int64(len(t)) && count > 0; e, count = e+12, count-1 {
		if order.Uint16(t[e:]) != exifOrientationTag {
			continue
		}
		// A SHORT stored in the first two bytes of the value field. The type and count are not
		// checked, as imaging does not check them: a path difference must not change the output.
		if o := int(order.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}
