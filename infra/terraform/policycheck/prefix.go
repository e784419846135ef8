package policycheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// GrantPrefixTag is the bucket tag that confines every grant on the bucket's objects to a key
// prefix: a bucket tagged {"shardline:grant-prefix" = "gray/"} may be granted on
// "arn:aws:s3:::bucket/gray/*" or "…/gray/photos/*", never on "…/*" or "…/gr*". infra/terraform
// tags the output bucket with output_prefix when one is set, so that the workers' write and delete
// grants stay under it.
const GrantPrefixTag = "shardline:grant-prefix"

// prefixedBuckets maps the name of every live bucket tagged with GrantPrefixTag to its prefix.
// A bucket whose name is unknown at plan time cannot be matched and is left out.
func (c *checker) prefixedBuckets() map[string]string {
	out := map[string]string{}
	for _, b := range c.byType["aws_s3_bucket"] {
		name, ok := b.str("bucket")
		if !ok || name == "" {
			continue
		}
		for _, attr := range []string{"tags", "tags_all"} {
			tags, _ := b.Change.After[attr].(map[string]any)
			if p, ok := tags[GrantPrefixTag].(string); ok {
				out[name] = p
			}
		}
	}
	return out
}

// policyDoc is a policy document seen during the resource pass, kept for the checks that need
// every resource of the plan first.
type policyDoc struct {
	rc   *ResourceChange
	what string
	doc  string
}

// grantPrefixes reports every Allow statement of an identity or resource policy that grants on
// objects of a prefixed bucket outside its prefix: the literal part of the key pattern (up to
// the first wildcard) must start with the prefix.
func (c *checker) grantPrefixes() {
	buckets := c.prefixedBuckets()
	if len(buckets) == 0 {
		return
	}
	for _, d := range c.docs {
		for _, s := range allowStatements(d.doc) {
			for _, r := range stringList(s.Resource) {
				bucket, key, ok := s3ObjectARN(r)
				if !ok {
					continue
				}
				prefix, tagged := buckets[bucket]
				if !tagged {
					continue
				}
				literal := key
				if i := strings.IndexAny(key, wildcardChars); i >= 0 {
					literal = key[:i]
				}
				if !strings.HasPrefix(literal, prefix) {
					c.add(d.rc, RuleGrantOutsidePrefix, "%s: %s grants %s on %q, wider than the bucket's prefix %q (tag %s)",
						d.what, s.name, strings.Join(stringList(s.Action), ", "), r, prefix, GrantPrefixTag)
				}
			}
		}
	}
}

type namedStatement struct {
	statement
	name string
}

// allowStatements returns the Allow statements of a policy document (none when it is unreadable;
// CheckPolicyDocument reports that).
func allowStatements(doc string) []namedStatement {
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &raw) != nil {
		return nil
	}
	var stmts []statement
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var s statement
		if json.Unmarshal(raw.Statement, &s) != nil {
			return nil
		}
		stmts = []statement{s}
	} else if json.Unmarshal(raw.Statement, &stmts) != nil {
		return nil
	}
	var out []namedStatement
	for i, s := range stmts {
		if !strings.EqualFold(s.Effect, "Allow") {
			continue
		}
		name := fmt.Sprintf("statement %d", i)
		if s.Sid != "" {
			name = fmt.Sprintf("statement %q", s.Sid)
		}
		out = append(out, namedStatement{s, name})
	}
	return out
}

// s3ObjectARN splits "arn:PARTITION:s3:::BUCKET/KEY" into bucket and key pattern.
func s3ObjectARN(arn string) (bucket, key string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return "", "", false
	}
	return strings.Cut(parts[5], "/")
}
