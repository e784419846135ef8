package policycheck

import (
	"fmt"
	"sort"
)

// Rule names, as printed in findings.
const (
	RuleWildcardAction   = "iam-wildcard-action"
	RuleWildcardResource = "iam-wildcard-resource"
	RulePublicPrincipal  = "iam-public-principal"
	RuleAdminPolicy      = "iam-admin-policy"
	RuleUnknownPolicy    = "iam-policy-unknown-at-plan"
	RuleBadPolicy        = "iam-policy-unparsable"
	RuleUnencrypted      = "unencrypted"
	RulePublicBucket     = "public-bucket"
	RulePublicAccess     = "public-access"
	// RuleGrantOutsidePrefix: a grant on the objects of a bucket tagged with GrantPrefixTag
	// reaches keys outside the tagged prefix.
	RuleGrantOutsidePrefix = "s3-grant-outside-prefix"
)

// Finding is one broken rule of one resource.
type Finding struct {
	Rule    string
	Address string
	Message string
}

func (f Finding) String() string { return fmt.Sprintf("%s %s: %s", f.Rule, f.Address, f.Message) }

// Check parses a JSON plan and returns its findings (none: the plan passes).
func Check(planJSON []byte) ([]Finding, error) {
	p, err := ParsePlan(planJSON)
	if err != nil {
		return nil, err
	}
	return CheckPlan(p), nil
}

// CheckPlan returns the findings of a parsed plan, sorted by address and rule.
func CheckPlan(p *Plan) []Finding {
	c := checker{plan: p}
	for i := range p.ResourceChanges {
		rc := &p.ResourceChanges[i]
		if rc.live() {
			c.resource(rc)
		}
	}
	c.buckets()
	c.grantPrefixes()
	sort.SliceStable(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Rule < b.Rule
	})
	return c.findings
}

type checker struct {
	plan     *Plan
	findings []Finding
	// byType collects the live resources the bucket checks correlate.
	byType map[string][]*ResourceChange
	// docs collects the identity and resource policies for the checks that need every bucket.
	docs []policyDoc
}

func (c *checker) add(rc *ResourceChange, rule, format string, args ...any) {
	c.findings = append(c.findings, Finding{Rule: rule, Address: rc.Address, Message: fmt.Sprintf(format, args...)})
}

// identityPolicyAttr lists the resource types whose attribute "policy" is an identity policy.
var identityPolicyAttr = map[string]bool{
	"aws_iam_policy":       true,
	"aws_iam_role_policy":  true,
	"aws_iam_user_policy":  true,
	"aws_iam_group_policy": true,
}

// resourcePolicyAttr lists the resource types whose attribute "policy" is a resource policy
// checked for public principals and wildcards.
var resourcePolicyAttr = map[string]bool{
	"aws_s3_bucket_policy":      true,
	"aws_sqs_queue_policy":      true,
	"aws_sns_topic_policy":      true,
	"aws_ecr_repository_policy": true,
}

var policyAttachments = map[string]bool{
	"aws_iam_role_policy_attachment":  true,
	"aws_iam_user_policy_attachment":  true,
	"aws_iam_group_policy_attachment": true,
	"aws_iam_policy_attachment":       true,
}

var publicACLs = map[string]bool{"public-read": true, "public-read-write": true, "authenticated-read": true}

// resource runs the checks of one live resource and keeps it for the checks that correlate
// resources (buckets, grant prefixes).
func (c *checker) resource(rc *ResourceChange) {
	if c.byType == nil {
		c.byType = map[string][]*ResourceChange{}
	}
	c.byType[rc.Type] = append(c.byType[rc.Type], rc)
	c.policies(rc)
	c.encryption(rc)
	c.exposure(rc)
}

// policies checks the IAM policies a resource carries or attaches.
func (c *checker) policies(rc *ResourceChange) {
	switch {
	case identityPolicyAttr[rc.Type]:
		c.document(rc, "policy", Identity, []any{"policy"})
	case resourcePolicyAttr[rc.Type]:
		c.document(rc, "policy", Resource, []any{"policy"})
	case policyAttachments[rc.Type]:
		if arn, ok := rc.str("policy_arn"); ok {
			c.attachedPolicy(rc, arn)
		}
	case rc.Type == "aws_iam_role":
		c.document(rc, "assume_role_policy", Trust, []any{"assume_role_policy"})
		for i, b := range rc.blocks("inline_policy") {
			if doc, _ := b["policy"].(string); doc != "" || rc.unknown("inline_policy", i, "policy") {
				c.documentValue(rc, fmt.Sprintf("inline_policy[%d]", i), doc, Identity, rc.unknown("inline_policy", i, "policy"))
			}
		}
		if l, ok := rc.Change.After["managed_policy_arns"].([]any); ok {
			for _, v := range l {
				arn, _ := v.(string)
				c.attachedPolicy(rc, arn)
			}
		}
	}
}

// attachedPolicy reports an attached policy that grants a whole service or account.
func (c *checker) attachedPolicy(rc *ResourceChange, arn string) {
	if adminPolicy.MatchString(arn) {
		c.add(rc, RuleAdminPolicy, "attaches %s, which grants a whole service or account", arn)
	}
}

// encryption checks that a resource storing data encrypts it at rest.
func (c *checker) encryption(rc *ResourceChange) {
	switch rc.Type {
	case "aws_kinesis_stream":
		if t, ok := rc.str("encryption_type"); ok && t != "KMS" {
			c.add(rc, RuleUnencrypted, "stream encryption_type is %q, want KMS", t)
		} else if !ok && !rc.unknown("encryption_type") {
			c.add(rc, RuleUnencrypted, "stream has no encryption_type (default NONE), want KMS")
		}
	case "aws_sqs_queue":
		kms, _ := rc.str("kms_master_key_id")
		if sse, ok := rc.boolean("sqs_managed_sse_enabled"); ok && !sse && kms == "" {
			c.add(rc, RuleUnencrypted, "queue has neither SQS-managed SSE nor a KMS key")
		}
	case "aws_sns_topic":
		if kms, _ := rc.str("kms_master_key_id"); kms == "" && !rc.unknown("kms_master_key_id") {
			c.add(rc, RuleUnencrypted, "topic has no kms_master_key_id")
		}
	case "aws_ebs_volume", "aws_efs_file_system":
		if enc, ok := rc.boolean("encrypted"); ok && !enc {
			c.add(rc, RuleUnencrypted, "encrypted is false")
		}
	case "aws_db_instance", "aws_rds_cluster":
		if enc, ok := rc.boolean("storage_encrypted"); ok && !enc {
			c.add(rc, RuleUnencrypted, "storage_encrypted is false")
		}
	}
}

// exposure checks that a resource does not open buckets, functions or ports to the world.
func (c *checker) exposure(rc *ResourceChange) {
	switch rc.Type {
	case "aws_s3_bucket":
		c.publicACL(rc)
	case "aws_s3_bucket_acl":
		c.publicACL(rc)
		for _, acp := range rc.blocks("access_control_policy") {
			if grantsToEveryone(acp) {
				c.add(rc, RulePublicBucket, "ACL grants access to AllUsers or AuthenticatedUsers")
			}
		}
	case "aws_s3_bucket_public_access_block":
		for _, attr := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			if v, ok := rc.boolean(attr); ok && !v {
				c.add(rc, RulePublicBucket, "%s is false", attr)
			}
		}
	case "aws_lambda_permission":
		if p, ok := rc.str("principal"); ok && p == "*" {
			c.add(rc, RulePublicAccess, "lets anyone invoke the function (principal \"*\")")
		}
	case "aws_lambda_function_url":
		if t, ok := rc.str("authorization_type"); ok && t == "NONE" {
			c.add(rc, RulePublicAccess, "function URL without authentication (authorization_type NONE)")
		}
	case "aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule":
		c.openIngress(rc)
	}
}

// publicACL reports a canned ACL that makes a bucket's objects public.
func (c *checker) publicACL(rc *ResourceChange) {
	if acl, ok := rc.str("acl"); ok && publicACLs[acl] {
		c.add(rc, RulePublicBucket, "canned ACL %q makes objects public", acl)
	}
}

// openIngress reports security group rules that admit traffic from anywhere.
func (c *checker) openIngress(rc *ResourceChange) {
	switch rc.Type {
	case "aws_security_group":
		for _, in := range rc.blocks("ingress") {
			if openToWorld(in) {
				c.add(rc, RulePublicAccess, "ingress on ports %v-%v from anywhere", in["from_port"], in["to_port"])
			}
		}
	case "aws_security_group_rule":
		if t, _ := rc.str("type"); t == "ingress" && openToWorld(rc.Change.After) {
			c.add(rc, RulePublicAccess, "ingress on ports %v-%v from anywhere", rc.Change.After["from_port"], rc.Change.After["to_port"])
		}
	case "aws_vpc_security_group_ingress_rule":
		v4, _ := rc.str("cidr_ipv4")
		v6, _ := rc.str("cidr_ipv6")
		if v4 == "0.0.0.0/0" || v6 == "::/0" {
			c.add(rc, RulePublicAccess, "ingress from anywhere")
		}
	}
}

// document checks the policy document in attribute attr.
func (c *checker) document(rc *ResourceChange, attr string, kind DocKind, path []any) {
	doc, _ := rc.str(attr)
	c.documentValue(rc, attr, doc, kind, rc.unknown(path...))
}

func (c *checker) documentValue(rc *ResourceChange, what, doc string, kind DocKind, unknown bool) {
	if unknown {
		c.add(rc, RuleUnknownPolicy, "%s is only known after apply, so it cannot be checked: build its ARNs from names", what)
		return
	}
	if doc == "" {
		return
	}
	if kind != Trust {
		c.docs = append(c.docs, policyDoc{rc: rc, what: what, doc: doc})
	}
	probs, err := CheckPolicyDocument(doc, kind)
	if err != nil {
		c.add(rc, RuleBadPolicy, "%s: %v", what, err)
		return
	}
	for _, p := range probs {
		rule := p.Rule
		if rule == RulePublicPrincipal && rc.Type == "aws_s3_bucket_policy" {
			rule = RulePublicBucket
		}
		c.add(rc, rule, "%s: %s", what, p.Message)
	}
}

// buckets checks that every bucket has a default encryption configuration and a full public
// access block.
func (c *checker) buckets() {
	for _, b := range c.byType["aws_s3_bucket"] {
		if !c.hasBucketCompanion(b, "aws_s3_bucket_server_side_encryption_configuration") &&
			len(b.blocks("server_side_encryption_configuration")) == 0 {
			c.add(b, RuleUnencrypted, "no aws_s3_bucket_server_side_encryption_configuration for this bucket")
		}
		if !c.hasBucketCompanion(b, "aws_s3_bucket_public_access_block") {
			c.add(b, RulePublicBucket, "no aws_s3_bucket_public_access_block for this bucket")
		}
	}
}

// hasBucketCompanion reports whether a live resource of type typ configures bucket b: its
// "bucket" is b's name, or, when the name is unknown at plan time, its configuration refers to b
// in the same module instance (and the same count/for_each index).
func (c *checker) hasBucketCompanion(b *ResourceChange, typ string) bool {
	name, nameKnown := b.str("bucket")
	for _, r := range c.byType[typ] {
		if v, ok := r.str("bucket"); ok {
			if nameKnown && v == name {
				return true
			}
			continue
		}
		if r.ModuleAddress != b.ModuleAddress || !c.plan.refersTo(r, "bucket", b.configAddress()) {
			continue
		}
		if len(b.Index) == 0 || string(r.Index) == string(b.Index) {
			return true
		}
	}
	return false
}

func grantsToEveryone(acp map[string]any) bool {
	grants, _ := acp["grant"].([]any)
	for _, g := range grants {
		gm, _ := g.(map[string]any)
		grantees, _ := gm["grantee"].([]any)
		for _, ge := range grantees {
			m, _ := ge.(map[string]any)
			if uri, _ := m["uri"].(string); uri == "http://acs.amazonaws.com/groups/global/AllUsers" ||
				uri == "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" {
				return true
			}
		}
	}
	return false
}

func openToWorld(rule map[string]any) bool {
	for _, attr := range []string{"cidr_blocks", "ipv6_cidr_blocks"} {
		l, _ := rule[attr].([]any)
		for _, v := range l {
			if s, _ := v.(string); s == "0.0.0.0/0" || s == "::/0" {
				return true
			}
		}
	}
	return false
}
