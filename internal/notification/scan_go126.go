//go:build !go1.27

package notification

import "encoding/json"

// This file builds members and elements on encoding/json for Go toolchains older than 1.27,
// which have no encoding/json/jsontext (go.mod allows Go 1.26; `make` builds with the toolchain
// line, so shardline's own binaries use scan.go). Same results, at the cost of copying values.

func members(data []byte, visit func(name, value []byte)) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || top == nil {
		return false
	}
	for name, v := range top {
		visit([]byte(name), v)
	}
	return true
}

func elements(data []byte, visit func(i int, elem []byte) bool) bool {
	var elems []json.RawMessage
	if json.Unmarshal(data, &elems) != nil || elems == nil {
		return false
	}
	for i, e := range elems {
		if !visit(i, e) {
			break
		}
	}
	return true
}
