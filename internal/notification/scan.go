//go:build go1.27

package notification

import (
	"bytes"
	"encoding/json/jsontext"
	"io"
	"unicode/utf8"
)

// This file needs Go 1.27 (encoding/json/jsontext); scan_go126.go is its fallback.
//
// Bodies are scanned once with jsontext rather than decoded into maps of json.RawMessage: a
// webhook request's body used to be parsed four times over (the SNS check, the top-level map,
// the Records array, each record) with a copy of every value at each level; the scan hands out
// slices of the body instead. The options keep encoding/json's rules for what a body may
// contain: a repeated member's last occurrence wins and invalid UTF-8 is accepted (and replaced
// where it is decoded), so a body is accepted or refused exactly as before.
var scanOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// members calls visit with each member of data, which must be exactly one JSON object: the
// member's name (as encoding/json decodes it: unescaped, invalid UTF-8 replaced) and its value,
// a slice of data. It reports false, without a reason, when data is anything else (not JSON,
// another kind of value, trailing data); a caller that needs the reason decodes data again with
// encoding/json.
func members(data []byte, visit func(name, value []byte)) bool {
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), scanOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return false
		}
		n := name[1 : len(name)-1]
		if bytes.IndexByte(n, '\\') >= 0 || !utf8.Valid(n) {
			// The name is valid JSON (ReadValue checked it), so the only error left is
			// invalid UTF-8, replaced here as encoding/json replaces it in map keys.
			n, _ = jsontext.AppendUnquote(nil, name)
		}
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		end := int(dec.InputOffset())
		visit(n, data[end-len(v):end])
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return false
	}
	_, err := dec.ReadToken()
	return err == io.EOF
}

// elements calls visit with each element of data, a JSON value already known to be valid, as a
// slice of data, and with its index; it stops when visit returns false. It reports false when
// data is not an array.
func elements(data []byte, visit func(i int, elem []byte) bool) bool {
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), scanOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return false
	}
	for i := 0; dec.PeekKind() != ']'; i++ {
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		end := int(dec.InputOffset())
		if !visit(i, data[end-len(v):end]) {
			return true
		}
	}
	return true
}
