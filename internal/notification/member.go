package notification

// HasMember reports whether body is one JSON object (as encoding/json would accept it) with a
// member called name at its top level.
func HasMember(body []byte, name string) bool {
	found := false
	ok := members(body, func(n, _ []byte) {
		found = found || string(n) == name
	})
	return ok && found
}
