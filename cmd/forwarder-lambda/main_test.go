package main

import (
	"strings"
	"testing"
)

func TestReadSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		buckets string
		err     string
	}{
		{"stream and allow-list", map[string]string{"SHARDLINE_STREAM": "s", "SHARDLINE_INPUT_BUCKETS": "in-a, in-b"}, "in-a,in-b", ""},
		{"no allow-list", map[string]string{"SHARDLINE_STREAM": "s"}, "", ""},
		{"no stream", map[string]string{"SHARDLINE_INPUT_BUCKETS": "in-a"}, "", "SHARDLINE_STREAM"},
		{"invalid bucket", map[string]string{"SHARDLINE_STREAM": "s", "SHARDLINE_INPUT_BUCKETS": "arn:aws:s3:::in-a"}, "", "SHARDLINE_INPUT_BUCKETS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := readSettings(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || s.buckets.String() != tc.buckets {
				t.Fatalf("buckets %q err %v, want %q", s.buckets, err, tc.buckets)
			}
		})
	}
}
