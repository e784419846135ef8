# A deliberately broken configuration: test/run.sh plans it (never applies it) and requires
# policycheck to fail on it with every rule below. Each resource breaks one rule on purpose.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

# iam-public-principal: anyone may assume the role.
resource "aws_iam_role" "anyone" {
  name = "broken-anyone"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# iam-public-principal, every other way to write "anyone" (one role each; issue 12, finding 7):
# "*" as a string, "*" in an AWS list, every account's root, every service, every federated
# provider.
resource "aws_iam_role" "anyone_string" {
  name = "broken-anyone-string"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = "*", Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role" "anyone_aws_list" {
  name = "broken-anyone-aws-list"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = ["arn:aws:iam::123456789012:root", "*"] }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role" "any_account_root" {
  name = "broken-any-account-root"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::*:root" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role" "any_service" {
  name = "broken-any-service"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "*" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role" "any_federated" {
  name = "broken-any-federated"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Federated = "*" }, Action = "sts:AssumeRoleWithWebIdentity" }]
  })
}

# iam-public-principal: NotPrincipal allows everyone but the one listed.
resource "aws_sqs_queue_policy" "not_principal" {
  queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/broken-plain"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect       = "Allow"
      NotPrincipal = { AWS = "arn:aws:iam::123456789012:root" }
      Action       = "sqs:SendMessage"
      Resource     = "arn:aws:sqs:us-east-1:123456789012:broken-plain"
    }]
  })
}

# public-bucket (a public principal in a bucket policy): every canonical user.
resource "aws_s3_bucket_policy" "canonical_user" {
  bucket = "broken-public-bucket"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { CanonicalUser = "*" }
      Action    = "s3:GetObject"
      Resource  = "arn:aws:s3:::broken-public-bucket/*"
    }]
  })
}

# iam-wildcard-action: '?' is an IAM wildcard (any one character), here in an action.
resource "aws_iam_role_policy" "question_action" {
  name = "question-action"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:Get?bject", Resource = "arn:aws:s3:::broken-public-bucket/*" }]
  })
}

# iam-wildcard-resource: '?' in a bucket name (S3 ARNs name no account: any account's bucket).
resource "aws_iam_role_policy" "question_bucket" {
  name = "question-bucket"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:aws:s3:::broken-public-bucket?" }]
  })
}

# iam-wildcard-resource: '?' in the account of an ARN (ten accounts).
resource "aws_iam_role_policy" "question_account" {
  name = "question-account"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "dynamodb:GetItem", Resource = "arn:aws:dynamodb:us-east-1:12345678901?:table/broken" }]
  })
}

# iam-wildcard-action + iam-wildcard-resource: "*" on "*".
resource "aws_iam_role_policy" "admin" {
  name = "admin"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}

# iam-wildcard-action + iam-wildcard-resource: a whole service on every table of every account.
resource "aws_iam_role_policy" "all_tables" {
  name = "all-tables"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "dynamodb:*", Resource = "arn:aws:dynamodb:*:*:table/*" }]
  })
}

# iam-policy-unknown-at-plan: the stream ARN exists only after apply, so the plan cannot show it.
resource "aws_iam_role_policy" "unknown" {
  name = "unknown"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "kinesis:GetRecords", Resource = aws_kinesis_stream.plain.arn }]
  })
}

# iam-admin-policy: an AWS managed administrator policy.
resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.anyone.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

# unencrypted + public-bucket: no default encryption, no public access block ...
resource "aws_s3_bucket" "public" {
  bucket = "broken-public-bucket"
}

# public-bucket: ... and a policy that lets anyone read it.
resource "aws_s3_bucket_policy" "public" {
  bucket = aws_s3_bucket.public.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = "arn:aws:s3:::broken-public-bucket/*"
    }]
  })
}

# unencrypted: a stream without KMS.
resource "aws_kinesis_stream" "plain" {
  name        = "broken-plain"
  shard_count = 1
}

# unencrypted: a queue without SSE.
resource "aws_sqs_queue" "plain" {
  name                    = "broken-plain"
  sqs_managed_sse_enabled = false
}

# public-access: metrics open to the internet.
resource "aws_security_group" "open" {
  name        = "broken-open"
  description = "open to the world"

  ingress {
    from_port   = 9102
    to_port     = 9102
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# s3-grant-outside-prefix: the bucket declares that grants on its objects stay under "gray/"
# (as infra/terraform tags the output bucket with output_prefix) ...
resource "aws_s3_bucket" "prefixed" {
  bucket = "broken-prefixed-output"
  tags   = { "shardline:grant-prefix" = "gray/" }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "prefixed" {
  bucket = aws_s3_bucket.prefixed.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "prefixed" {
  bucket                  = aws_s3_bucket.prefixed.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ... and a worker-style policy writes and deletes anywhere in it.
resource "aws_iam_role_policy" "outside_prefix" {
  name = "outside-prefix"
  role = aws_iam_role.anyone.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteOutput"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:DeleteObject", "s3:GetObject"]
      Resource = "arn:aws:s3:::broken-prefixed-output/*"
    }]
  })
}
