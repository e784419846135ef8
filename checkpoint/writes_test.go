package checkpoint

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// checkPlaceholders checks that a write's expressions use every attribute name and value it
// gives, and no other: DynamoDB refuses the request otherwise.
func checkPlaceholders(t *testing.T, u rowUpdate) {
	t.Helper()
	exprs := u.update + " " + u.cond
	used := func(re string) []string {
		toks := regexp.MustCompile(re).FindAllString(exprs, -1)
		sort.Strings(toks)
		return slices.Compact(toks)
	}
	if got, want := used(`#\w+`), sortedKeys(u.names); !slices.Equal(got, want) {
		t.Errorf("names used %v, given %v", got, want)
	}
	if got, want := used(`:\w+`), sortedKeys(u.values); !slices.Equal(got, want) {
		t.Errorf("values used %v, given %v", got, want)
	}
}

// valueStrings is a write's values as strings (numbers in their decimal form).
func valueStrings(u rowUpdate) map[string]string {
	got := map[string]string{}
	for k, v := range u.values {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			got[k] = v.Value
		case *types.AttributeValueMemberN:
			got[k] = v.Value
		}
	}
	return got
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestWrites: the conditions of the writes other than takes and renewals (TestDecideLease has
// those), and that the request names exactly what the expressions use.
func TestWrites(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	order, _ := Order("500")
	cases := []struct {
		name   string
		write  rowUpdate
		update string
		cond   string
		values map[string]string
	}{
		{
			name: "checkpoint: owner only, forwards only", write: checkpointWrite("me", "500", order),
			update: "SET #cp = :cp, #order = :order", cond: "#owner = :me AND (attribute_not_exists(#order) OR #order <= :order)",
			values: map[string]string{":cp": "500", ":order": order, ":me": "me"},
		},
		{
			name: "release: only our own", write: releaseWrite("me"),
			update: "REMOVE #owner", cond: "#owner = :me", values: map[string]string{":me": "me"},
		},
		{
			name: "claim: owner unchanged, no live claim", write: claimWrite("owner", "me", now, 30*time.Second),
			update: "SET #claim = :claimer, #claim_time = :now", cond: "#owner = :owner AND (attribute_not_exists(#claim) OR #claim_time < :stale)",
			values: map[string]string{":claimer": "me", ":now": formatTime(now), ":owner": "owner", ":stale": formatTime(now.Add(-30 * time.Second))},
		},
		{
			name: "rewind to TRIM_HORIZON of a row never checkpointed nor taken", write: rewindWrite(Lease{ShardID: "s"}, ""),
			update: "REMOVE #cp, #order, #owner, #claim, #claim_time", cond: "attribute_exists(#id) AND attribute_not_exists(#cp) AND attribute_not_exists(#counter)",
			values: map[string]string{},
		},
		{
			name: "rewind to a sequence number of a row as seen", write: rewindWrite(Lease{ShardID: "s", Checkpoint: "900", Counter: 3}, "500"),
			update: "SET #cp = :cp, #order = :order REMOVE #owner, #claim, #claim_time", cond: "attribute_exists(#id) AND #cp = :seen_cp AND #counter = :seen_counter",
			values: map[string]string{":cp": "500", ":order": order, ":seen_cp": "900", ":seen_counter": "3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.write
			if u.update != tc.update || u.cond != tc.cond {
				t.Errorf("update %q cond %q, want %q %q", u.update, u.cond, tc.update, tc.cond)
			}
			checkPlaceholders(t, u)
			if got := valueStrings(u); !maps.Equal(got, tc.values) {
				t.Errorf("values %v, want %v", got, tc.values)
			}
			if in := u.input("table", "s"); len(u.values) == 0 && in.ExpressionAttributeValues != nil {
				t.Error("an empty value map is sent (DynamoDB refuses it)")
			}
		})
	}
}
