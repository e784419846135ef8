package expiry

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	tests := []struct {
		name string
		at   time.Time
		ttl  time.Duration
		want time.Time // zero: never
	}{
		{"30 days", at, 30 * day, at.Add(30 * day)},
		{"fraction of a second rounds up", at.Add(time.Nanosecond), time.Hour, at.Add(time.Hour + time.Second)},
		{"0: never", at, 0, time.Time{}},
		{"negative: never", at, -day, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := At(tc.at, tc.ttl)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("At = %s, %v; want %s", got, ok, tc.want)
			}
		})
	}
}

func TestSetGet(t *testing.T) {
	exp := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	item := map[string]types.AttributeValue{}
	Set(item, time.Time{})
	if _, ok := item[Attr]; ok || !Get(item).IsZero() {
		t.Fatalf("never: item %v, want no %s", item, Attr)
	}
	Set(item, exp)
	if v, ok := item[Attr].(*types.AttributeValueMemberN); !ok || v.Value != "1772366401" {
		t.Fatalf("%s = %#v, want the Number 1772366401", Attr, item[Attr])
	}
	if got := Get(item); !got.Equal(exp) || got.Location() != time.UTC {
		t.Errorf("Get = %s, want %s in UTC", got, exp)
	}
	item[Attr] = &types.AttributeValueMemberN{Value: "1.5"}
	if got := Get(item); !got.IsZero() {
		t.Errorf("Get of a fraction = %s, want zero", got)
	}
}
