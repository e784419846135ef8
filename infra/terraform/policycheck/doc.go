// Package policycheck checks a Terraform plan (the JSON of `terraform show -json PLANFILE`) against
// shardline's deployment rules, before anything is applied:
//
//   - IAM is scoped: no Allow statement grants an action pattern with a wildcard ('*' or '?',
//     which IAM reads as any one character) or NotAction, or a resource "*" (except for the few
//     actions that have no resource-level permissions, such as ecr:GetAuthorizationToken),
//     NotResource, an ARN with a wildcard in its partition, service, region or account, an S3
//     ARN with a wildcard in its bucket name, or an ARN whose resource name is only wildcards;
//     no AWS managed administrator or *FullAccess policy is attached; no trust or resource
//     policy allows everyone, in any of the forms IAM accepts: "Principal": "*", {"AWS": "*"},
//     {"AWS": ["*"]}, a wildcard ARN such as {"AWS": "arn:aws:iam::*:root"},
//     {"CanonicalUser": "*"}, {"Service": "*"}, {"Federated": "*"}, or NotPrincipal; a
//     principal type IAM does not define is a finding too.
//   - Data at rest is encrypted: every S3 bucket has a default encryption configuration, Kinesis
//     streams use KMS, SQS queues and SNS topics are encrypted, EBS/EFS/RDS storage is encrypted.
//     (DynamoDB tables and CloudWatch log groups are always encrypted at rest.)
//   - Grants stay under a bucket's declared prefix: on a bucket tagged
//     "shardline:grant-prefix" = P (GrantPrefixTag), no Allow statement of an identity or resource
//     policy names an object ARN of that bucket whose key pattern, up to its first wildcard, does
//     not start with P ("bucket/*" and "bucket/gr*" are wider than "gray/"; "bucket/gray/*" is not).
//   - Nothing is public: every S3 bucket has a public access block with all four settings on,
//     no public canned ACL, no bucket policy allowing "*"; no Lambda permission or function URL
//     open to anyone; no security group ingress from 0.0.0.0/0 or ::/0.
//
// A policy document that is not known when the plan is made cannot be checked, so it is itself a
// finding: build the ARNs in policies from names (as infra/terraform does) rather than from
// attributes that exist only after apply.
package policycheck
