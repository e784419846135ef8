package notification

import (
	"encoding/json"
	"strings"
	"testing"
)

// The shape of a body is decided by its top-level members as encoding/json reads them into a
// map: a repeated member's last occurrence wins, escaped names are unescaped, and names match
// exactly. The scanner must keep those rules (scan.go, and scan_go126.go on Go 1.26).
func TestShapeFollowsEncodingJSONMemberRules(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantSkip  string // the reason of the only skip, when the body parses
		wantError string // a Parse error's text, when it does not
	}{
		{"repeated Records: the last (an array) wins", `{"Records":{},"Records":[]}`, ReasonEmptyNotification, ""},
		{"repeated Records: the last (an object) wins", `{"Records":[],"Records":{}}`, "", "not a JSON array"},
		{"escaped name", `{"\u0052ecords":[]}`, ReasonEmptyNotification, ""},
		{"name of another case", `{"RECORDS":[]}`, "", "no known notification shape"},
		{"Records below the top level", `{"x":{"Records":[]}}`, "", "no known notification shape"},
		{"invalid UTF-8 in another member", "{\"x\":\"\xff\",\"Records\":[]}", ReasonEmptyNotification, ""},
		{"keys listed once each, sorted", `{"b":1,"a":1,"b":2}`, "", `(keys ["a" "b"])`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse([]byte(tc.body))
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("Parse = %+v, %v; want an error saying %q", res, err, tc.wantError)
				}
				return
			}
			if err != nil || len(res.Skipped) != 1 || res.Skipped[0].Reason != tc.wantSkip {
				t.Fatalf("Parse = %+v, %v; want one skip %q", res, err, tc.wantSkip)
			}
		})
	}
}

func TestHasMember(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"Type":"Notification"}`, true},
		{`{"a":[1,{"b":2}],"Type":null}`, true},
		{`{"T\u0079pe":1}`, true},
		{`{"type":1}`, false},
		{`{"a":{"Type":1}}`, false},
		{`[{"Type":1}]`, false},
		{`{"Type":1} x`, false},
		{`{"Type":1`, false},
		{``, false},
	}
	for _, tc := range tests {
		if got := HasMember([]byte(tc.body), "Type"); got != tc.want {
			t.Errorf("HasMember(%q, Type) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// FuzzMembersMatchEncodingJSON checks the scanner against encoding/json itself: for any input,
// members accepts exactly what json.Unmarshal accepts as an object, and reports the members a
// map of json.RawMessage holds (last occurrence wins); on valid JSON, elements reports what a
// []json.RawMessage holds.
func FuzzMembersMatchEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"Records":[{"s3":{}}],"Records":null}`, `{"\u0054ype":"x","Message":"{}"}`, "{\"a\xff\":1}",
		`{"a":1} {}`, `[]`, `null`, `{"a":[1,2,{"b":"c"}], "d" : true }`, `{"a":"\ud800"}`, ``, `[1, {"a":[]} ,"x"]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) {
			var wantElems []json.RawMessage
			wantArray := json.Unmarshal(data, &wantElems) == nil && wantElems != nil
			var gotElems []string
			isArray := elements(data, func(_ int, elem []byte) bool { gotElems = append(gotElems, string(elem)); return true })
			if isArray != wantArray || len(gotElems) != len(wantElems) {
				t.Fatalf("elements(%q) = %v, %q; encoding/json %v, %q", data, isArray, gotElems, wantArray, wantElems)
			}
			for i := range gotElems {
				if gotElems[i] != string(wantElems[i]) {
					t.Fatalf("elements(%q)[%d] = %q, encoding/json %q", data, i, gotElems[i], wantElems[i])
				}
			}
		}
		var want map[string]json.RawMessage
		wantOK := json.Unmarshal(data, &want) == nil && want != nil
		got := map[string]string{}
		ok := members(data, func(name, value []byte) { got[string(name)] = string(value) })
		if ok != wantOK {
			t.Fatalf("members(%q) ok = %v, encoding/json says %v", data, ok, wantOK)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("members(%q) = %d members, encoding/json %d", data, len(got), len(want))
		}
		for name, v := range want {
			if got[name] != string(v) {
				t.Fatalf("members(%q)[%q] = %q, encoding/json %q", data, name, got[name], v)
			}
		}
	})
}
