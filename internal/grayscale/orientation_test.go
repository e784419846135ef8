package grayscale

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// withExifOrientation returns jpg with an APP1 EXIF segment holding one IFD0 entry, Orientation
// = o, inserted after SOI, in the given byte order.
func withExifOrientation(t testing.TB, jpg []byte, o uint16, order binary.ByteOrder) []byte {
	t.Helper()
	var tiff bytes.Buffer
	if order == binary.ByteOrder(binary.LittleEndian) {
		tiff.WriteString("II*\x00")
	} else {
		tiff.WriteString("MM\x00*")
	}
	w := func(v any) {
		if err := binary.Write(&tiff, order, v); err != nil {
			t.Fatal(err)
		}
	}
	w(uint32(8))                  // IFD0 offset
	w(uint16(1))                  // one entry
	w(uint16(exifOrientationTag)) // tag
	w(uint16(3))                  // SHORT
	w(uint32(1))                  // count
	w([2]uint16{o, 0})            // value, padded to 4 bytes
	w(uint32(0))                  // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestJPEGOrientation(t *testing.T) {
	jpg := encodeJPEG(t, gradient(16, 8))
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{name: "no EXIF", data: jpg, want: 0},
		{name: "upright little-endian", data: withExifOrientation(t, jpg, 1, binary.LittleEndian), want: 1},
		{name: "rotate 90 big-endian", data: withExifOrientation(t, jpg, 6, binary.BigEndian), want: 6},
		{name: "mirror little-endian", data: withExifOrientation(t, jpg, 2, binary.LittleEndian), want: 2},
		{name: "out of range", data: withExifOrientation(t, jpg, 9, binary.LittleEndian), want: 0},
		{name: "truncated EXIF", data: withExifOrientation(t, jpg, 6, binary.LittleEndian)[:20], want: 0},
		{name: "not a JPEG", data: encodePNG(t, gradient(4, 4)), want: 0},
		{name: "empty", data: nil, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jpegOrientation(tc.data); got != tc.want {
				t.Errorf("jpegOrientation = %d, want %d", got, tc.want)
			}
		})
	}
}

// FuzzJPEGOrientation: the EXIF scan never panics and returns 0 or a valid orientation.
func FuzzJPEGOrientation(f *testing.F) {
	jpg := encodeJPEG(f, gradient(8, 8))
	f.Add(jpg)
	f.Add(withExifOrientation(f, jpg, 6, binary.BigEndian))
	f.Add(withExifOrientation(f, jpg, 3, binary.LittleEndian))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 0 || o > 8 {
			t.Fatalf("jpegOrientation = %d", o)
		}
	})
}
