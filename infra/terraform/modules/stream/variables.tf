variable "name" {
  description = "Stream name."
  type        = string
}

variable "mode" {
  description = "PROVISIONED or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"
}

variable "shard_count" {
  description = "Open shards (PROVISIONED only)."
  type        = number
  default     = 2
}

variable "retention_hours" {
  description = "Record retention in hours (24-8760)."
  type        = number
  default     = 24
}

variable "kms_key_arn" {
  description = "Customer managed KMS key. null: the AWS managed key alias/aws/kinesis."
  type        = string
  default     = null
}
