package policycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func checkFile(t *testing.T, name string) []Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Check(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// brief renders findings as "rule address", sorted, for comparison.
func brief(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Address)
	}
	sort.Strings(out)
	return out
}

func TestCheckFixtures(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []string
	}{
		{
			name: "a plan that follows every rule passes",
			file: "ok.json",
			want: nil,
		},
		{
			name: "everything on everything",
			file: "broken-star.json",
			want: []string{"iam-wildcard-action aws_iam_role_policy.p", "iam-wildcard-resource aws_iam_role_policy.p"},
		},
		{
			name: "a whole service on every bucket",
			file: "broken-service-wide.json",
			want: []string{"iam-wildcard-action aws_iam_role_policy.p", "iam-wildcard-resource aws_iam_role_policy.p"},
		},
		{
			name: "resource * is only allowed for actions without resource-level permissions",
			file: "broken-resource-star.json",
			want: []string{"iam-wildcard-resource aws_iam_policy.p"},
		},
		{
			name: "ARNs for every region, account or table",
			file: "broken-arn-wildcards.json",
			want: []string{"iam-wildcard-resource aws_iam_role_policy.p", "iam-wildcard-resource aws_iam_role_policy.p", "iam-wildcard-resource aws_iam_role_policy.p"},
		},
		{
			name: "NotAction and NotResource",
			file: "broken-not-action.json",
			want: []string{"iam-wildcard-action aws_iam_role_policy.p", "iam-wildcard-resource aws_iam_role_policy.p"},
		},
		{
			name: "a policy only known after apply cannot be checked",
			file: "broken-unknown.json",
			want: []string{"iam-policy-unknown-at-plan aws_iam_role_policy.p"},
		},
		{
			name: "anyone may assume the role",
			file: "broken-public-trust.json",
			want: []string{"iam-public-principal aws_iam_role.r"},
		},
		{
			name: "inline policy blocks of a role are checked",
			file: "broken-inline.json",
			want: []string{"iam-wildcard-action aws_iam_role.r"},
		},
		{
			name: "AWS managed FullAccess policy",
			file: "broken-admin.json",
			want: []string{"iam-admin-policy aws_iam_role_policy_attachment.a"},
		},
		{
			name: "bucket without default encryption, stream and queue unencrypted",
			file: "broken-unencrypted.json",
			want: []string{"unencrypted aws_kinesis_stream.s", "unencrypted aws_s3_bucket.b", "unencrypted aws_sqs_queue.q"},
		},
		{
			name: "missing or partial public access block, public ACL, public bucket policy",
			file: "broken-public-bucket.json",
			want: []string{
				"public-bucket aws_s3_bucket.b",
				"public-bucket aws_s3_bucket_acl.c",
				"public-bucket aws_s3_bucket_policy.c",
				"public-bucket aws_s3_bucket_public_access_block.c",
			},
		},
		{
			name: "public Lambda permission, function URL and security group",
			file: "broken-public-access.json",
			want: []string{"public-access aws_lambda_function_url.u", "public-access aws_lambda_permission.any", "public-access aws_security_group.open"},
		},
		{
			// The whole bucket and a prefix of the prefix ("gray*" reaches "grayscale/…") are
			// wider than "gray/"; keys under it, other buckets, ListBucket and Deny are fine.
			name: "grants on a prefixed bucket's objects outside its prefix",
			file: "broken-grant-prefix.json",
			want: []string{"s3-grant-outside-prefix aws_iam_policy.whole_bucket", "s3-grant-outside-prefix aws_iam_role_policy.prefix_of_prefix"},
		},
		{
			name: "companions are matched per count index",
			file: "broken-bucket-index.json",
			want: []string{"public-bucket module.m.aws_s3_bucket.this[1]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkFile(t, tc.file)
			if !reflect.DeepEqual(brief(got), tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(brief(got), "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestCheckRoleManagedPolicies: a role's managed_policy_arns attach policies as an attachment
// resource does; only the ones that grant a whole service or account are findings.
func TestCheckRoleManagedPolicies(t *testing.T) {
	plan := `{"format_version": "1.2", "configuration": {"root_module": {}}, "resource_changes": [{
		"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
		"change": {"actions": ["create"], "after_unknown": {}, "after": {"managed_policy_arns": [
			"arn:aws:iam::aws:policy/AdministratorAccess",
			"arn:aws:iam::123456789012:policy/shardline-worker"
		]}}}]}`
	got, err := Check([]byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Rule != RuleAdminPolicy || !strings.Contains(got[0].Message, "AdministratorAccess") {
		t.Fatalf("findings %v, want one %s naming AdministratorAccess", got, RuleAdminPolicy)
	}
}

func TestCheckPolicyDocument(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		kind DocKind
		want []string
	}{
		{"single statement object", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`, Identity, nil},
		{"deny is never a finding", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Principal":"*"}]}`, Resource, nil},
		{"partial action wildcard", `{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}]}`, Identity, []string{RuleWildcardAction}},
		{"object keys under a named bucket are fine", `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/prefix/*"}]}`, Identity, nil},
		{"every bucket", `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::*/x"}]}`, Identity, []string{RuleWildcardResource}},
		{"log group streams are fine", `{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:1:log-group:/ecs/w:*"}]}`, Identity, nil},
		{"every function", `{"Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:1:function:*"}]}`, Identity, []string{RuleWildcardResource}},
		{"service principal trust", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}`, Trust, nil},
		{"public trust", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":"*"}]}`, Trust, []string{RulePublicPrincipal}},
		{"NotPrincipal", `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:1:q","NotPrincipal":{"AWS":"arn:aws:iam::1:root"}}]}`, Resource, []string{RulePublicPrincipal}},
		// '?' is an IAM wildcard too (any one character).
		{"? in an action", `{"Statement":[{"Effect":"Allow","Action":"s3:Get?bject","Resource":"arn:aws:s3:::b/*"}]}`, Identity, []string{RuleWildcardAction}},
		{"? in a bucket name", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket?/*"}]}`, Identity, []string{RuleWildcardResource}},
		{"? as a bucket ARN", `{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket?"}]}`, Identity, []string{RuleWildcardResource}},
		{"? in the region", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-?:1:table/t"}]}`, Identity, []string{RuleWildcardResource}},
		{"? in the account", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:12345678901?:table/t"}]}`, Identity, []string{RuleWildcardResource}},
		{"partial * in the account", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:1234*:table/t"}]}`, Identity, []string{RuleWildcardResource}},
		{"? in the service", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamod?:us-east-1:1:table/t"}]}`, Identity, []string{RuleWildcardResource}},
		{"? in the partition", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:*:dynamodb:us-east-1:1:table/t"}]}`, Identity, []string{RuleWildcardResource}},
		{"every table with ?", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:1:table/?"}]}`, Identity, []string{RuleWildcardResource}},
		{"? alone is not an ARN", `{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"?"}]}`, Identity, []string{RuleWildcardResource}},
		{"? in object keys under a named bucket is fine", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/prefix-?/*"}]}`, Identity, nil},
		// Every way to write "anyone".
		{"public principal string", `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:1:q","Principal":"*"}]}`, Resource, []string{RulePublicPrincipal}},
		{"public AWS principal", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"public AWS principal list", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::1:root","*"]}}]}`, Trust, []string{RulePublicPrincipal}},
		{"every account's root", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::*:root"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"every role of an account pattern", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::12345678901?:role/r"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"public canonical user", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Principal":{"CanonicalUser":"*"}}]}`, Resource, []string{RulePublicPrincipal}},
		{"every service", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"*"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"every service in a list", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs-tasks.amazonaws.com","*.amazonaws.com"]}}]}`, Trust, []string{RulePublicPrincipal}},
		{"every federated provider", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":"*"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"NotPrincipal in a trust policy", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","NotPrincipal":{"AWS":"arn:aws:iam::1:root"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"principal list of strings", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":["*"]}]}`, Trust, []string{RulePublicPrincipal}},
		{"principal type IAM does not define", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"aws":"*"}}]}`, Trust, []string{RulePublicPrincipal}},
		{"unreadable principal", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":{"x":"*"}}}]}`, Trust, []string{RulePublicPrincipal}},
		{"named account and service principals are fine", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::123456789012:root"],"Service":"lambda.amazonaws.com"}}]}`, Trust, nil},
		{"a public deny is fine", `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Principal":{"AWS":"*"}}]}`, Resource, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs, err := CheckPolicyDocument(tc.doc, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Rule)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rules %v, want %v (%+v)", got, tc.want, probs)
			}
		})
	}
	if _, err := CheckPolicyDocument("not json", Identity); err == nil {
		t.Error("no error for a document that is not JSON")
	}
}

func TestModulePath(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want []string
	}{
		{"", nil},
		{"module.a", []string{"a"}},
		{"module.a[0].module.b", []string{"a", "b"}},
		{`module.a["x.y]"].module.b[2]`, []string{"a", "b"}},
	} {
		if got := modulePath(tc.addr); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("modulePath(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestMainExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		status int
		out    string
	}{
		{"clean plan", []string{"testdata/ok.json"}, "", 0, "ok: "},
		{"broken plan", []string{"testdata/ok.json", "testdata/broken-star.json"}, "", 1, "iam-wildcard-action aws_iam_role_policy.p"},
		{"stdin", []string{"-"}, `{"format_version":"1.2"}`, 0, "ok: 0 resources"},
		{"not a plan", []string{"-"}, `{}`, 2, ""},
		{"missing file", []string{"testdata/nope.json"}, "", 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := Main(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if status != tc.status {
				t.Errorf("status %d, want %d (stdout %q, stderr %q)", status, tc.status, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.out)
			}
		})
	}
}
