variable "name" {
  description = "Bucket name (globally unique)."
  type        = string
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, aws-us-gov), for ARNs."
  type        = string
  default     = "aws"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for SSE-KMS. null: SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "versioning" {
  description = "Enable versioning."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it still holds objects."
  type        = bool
  default     = false
}

variable "grant_prefix" {
  description = "Key prefix every IAM grant on the bucket's objects must stay under: the bucket is tagged shardline:grant-prefix with it and the policy check (policycheck) rejects wider grants. null: no such tag."
  type        = string
  default     = null
}
