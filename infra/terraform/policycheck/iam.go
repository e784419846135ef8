package policycheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// DocKind says what a policy document is attached to, which decides the checks that apply.
type DocKind int

const (
	// Identity is a policy attached to a role, user or group: actions and resources are checked.
	Identity DocKind = iota
	// Trust is a role's assume-role policy: the principal is checked.
	Trust
	// Resource is a policy on a resource (bucket, queue, topic): principal, actions and
	// resources are checked.
	Resource
)

// resourcelessActions have no resource-level permissions: "*" is the only resource IAM accepts
// for them, so it is not a finding.
var resourcelessActions = map[string]bool{
	"ecr:getauthorizationtoken": true,
	"cloudwatch:putmetricdata":  true,
	"xray:puttracesegments":     true,
	"xray:puttelemetryrecords":  true,
	"kinesis:liststreams":       true,
	"dynamodb:listtables":       true,
	"s3:listallmybuckets":       true,
	"sts:getcalleridentity":     true,
}

// adminPolicy matches AWS managed policies that grant a whole service or account.
var adminPolicy = regexp.MustCompile(`^arn:aws[a-z-]*:iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess[A-Za-z0-9_]*)$`)

// typedResourceWildcard matches an ARN resource part that names every resource of a type, or
// every one with a name of a few characters: "*", "table/*", "function:*", "table/?", "??".
var typedResourceWildcard = regexp.MustCompile(`^([A-Za-z0-9-]+[/:])?[*?]+$`)

// wildcardChars are IAM's wildcards: '*' matches any run of characters, '?' any one character.
// IAM applies both to actions and to ARNs, so '?' widens a grant just as '*' does.
const wildcardChars = "*?"

// hasWildcard reports whether an action, ARN or principal contains an IAM wildcard.
func hasWildcard(s string) bool { return strings.ContainsAny(s, wildcardChars) }

type statement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Action       json.RawMessage `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     json.RawMessage `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
}

// Problem is one rule a policy document breaks.
type Problem struct {
	Rule    string
	Message string
}

// CheckPolicyDocument checks one IAM policy document (JSON) of the given kind.
func CheckPolicyDocument(doc string, kind DocKind) ([]Problem, error) {
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var stmts []statement
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var s statement
		if err := json.Unmarshal(raw.Statement, &s); err != nil {
			return nil, fmt.Errorf("policy statement: %w", err)
		}
		stmts = []statement{s}
	} else if err := json.Unmarshal(raw.Statement, &stmts); err != nil {
		return nil, fmt.Errorf("policy statements: %w", err)
	}
	var probs []Problem
	for i, s := range stmts {
		if !strings.EqualFold(s.Effect, "Allow") {
			continue // Deny statements only take permissions away.
		}
		name := fmt.Sprintf("statement %d", i)
		if s.Sid != "" {
			name = fmt.Sprintf("statement %q", s.Sid)
		}
		if kind == Trust || kind == Resource {
			if len(s.NotPrincipal) > 0 {
				probs = append(probs, Problem{RulePublicPrincipal, name + " uses NotPrincipal (allows every principal but those listed)"})
			}
			if why := publicPrincipal(s.Principal); why != "" {
				probs = append(probs, Problem{RulePublicPrincipal, name + " allows " + why})
			}
		}
		if kind == Trust {
			continue
		}
		probs = append(probs, checkActionsAndResources(name, s)...)
	}
	return probs, nil
}

func checkActionsAndResources(name string, s statement) []Problem {
	var probs []Problem
	if len(s.NotAction) > 0 {
		probs = append(probs, Problem{RuleWildcardAction, name + " uses NotAction (allows everything else)"})
	}
	actions := stringList(s.Action)
	for _, a := range actions {
		if hasWildcard(a) {
			probs = append(probs, Problem{RuleWildcardAction, fmt.Sprintf("%s allows action pattern %q (IAM wildcards: '*' any characters, '?' any one character)", name, a)})
		}
	}
	if len(s.NotResource) > 0 {
		probs = append(probs, Problem{RuleWildcardResource, name + " uses NotResource (applies to everything else)"})
	}
	for _, r := range stringList(s.Resource) {
		if r == "*" {
			if !allResourceless(actions) {
				probs = append(probs, Problem{RuleWildcardResource, fmt.Sprintf("%s allows %s on every resource (\"*\")", name, strings.Join(actions, ", "))})
			}
			continue
		}
		if why := wildcardARN(r); why != "" {
			probs = append(probs, Problem{RuleWildcardResource, fmt.Sprintf("%s: resource %q %s", name, r, why)})
		}
	}
	return probs
}

func allResourceless(actions []string) bool {
	if len(actions) == 0 {
		return false
	}
	for _, a := range actions {
		if !resourcelessActions[strings.ToLower(a)] {
			return false
		}
	}
	return true
}

// wildcardARN says why an ARN matches more than one deployment's resources, or "".
// '?' counts as a wildcard wherever '*' does.
func wildcardARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		if hasWildcard(arn) {
			return "is a wildcard pattern, not an ARN"
		}
		return ""
	}
	partition, service, region, account, res := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case hasWildcard(partition):
		return "matches more than one partition (wildcard in the partition)"
	case hasWildcard(service):
		return "matches more than one service (wildcard in the service)"
	case hasWildcard(region):
		return "matches more than one region (wildcard in the region)"
	case hasWildcard(account):
		return "matches more than one account (wildcard in the account)"
	}
	if service == "s3" {
		// S3 ARNs name no account: a wildcard in the bucket name reaches other accounts' buckets.
		bucket, _, _ := strings.Cut(res, "/")
		if hasWildcard(bucket) {
			return "matches more than one bucket, in any account (wildcard in the bucket name)"
		}
		return ""
	}
	if typedResourceWildcard.MatchString(res) {
		return "matches every resource of its type"
	}
	return ""
}

// publicPrincipalKeys are the principal types a policy may name; a wildcard in any of them opens
// the statement to everyone of that type, which for AWS and CanonicalUser is the whole internet.
var publicPrincipalKeys = []string{"AWS", "CanonicalUser", "Federated", "Service"}

// publicPrincipal says which principal of a statement lets anyone in, or "": "*" (as a string
// or inside a list), {"AWS": "*"}, {"AWS": ["*"]}, a wildcard ARN such as
// {"AWS": "arn:aws:iam::*:root"}, {"CanonicalUser": "*"}, {"Service": "*"}, {"Federated": "*"},
// and principal types IAM does not define (which this check cannot judge).
func publicPrincipal(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		// "Principal": "*" (or a list of strings, which IAM rejects but which is judged the same).
		for _, v := range stringList(raw) {
			if hasWildcard(v) {
				return fmt.Sprintf("any principal (Principal %q)", v)
			}
		}
		if len(stringList(raw)) == 0 {
			return "an unreadable principal " + string(raw)
		}
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, pk := range publicPrincipalKeys {
			known = known || k == pk
		}
		if !known {
			return fmt.Sprintf("a principal of unknown type %q (want one of %s)", k, strings.Join(publicPrincipalKeys, ", "))
		}
		vals := stringList(m[k])
		if len(vals) == 0 && len(m[k]) > 0 && string(m[k]) != "[]" {
			return fmt.Sprintf("an unreadable %s principal %s", k, m[k])
		}
		for _, v := range vals {
			if hasWildcard(v) {
				return fmt.Sprintf("any principal ({%q: %q})", k, v)
			}
		}
	}
	return ""
}

// stringList decodes a policy value that is a string or a list of strings.
func stringList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	_ = json.Unmarshal(raw, &l)
	sort.Strings(l)
	return l
}
