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
