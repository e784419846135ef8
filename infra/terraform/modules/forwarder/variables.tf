variable "name" {
  description = "Function name; also the name of its role, log group (/aws/lambda/<name>) and failure queue (<name>-failures)."
  type        = string
}

variable "zip_path" {
  description = "Deployment package built by `make lambda-zip` (dist/forwarder-lambda.zip)."
  type        = string
}

variable "stream_name" {
  description = "Kinesis stream the forwarder writes to (SHARDLINE_STREAM)."
  type        = string
}

variable "input_buckets" {
  description = "Input buckets whose events the forwarder accepts (SHARDLINE_INPUT_BUCKETS); events for any other bucket are refused. Empty: any valid bucket name."
  type        = list(string)
  default     = []
}

variable "stream_arn" {
  description = "ARN of that stream (the only resource the role may write to)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key of the stream, if any (grants kms:GenerateDataKey on it)."
  type        = string
  default     = null
}

variable "eventbridge_rule_arn" {
  description = "EventBridge rule whose undeliverable events go to the failure queue; null when EventBridge is not used."
  type        = string
  default     = null
}

variable "memory_mb" {
  description = "Memory (MB)."
  type        = number
  default     = 256
}

variable "timeout_seconds" {
  description = "Timeout (s); above the forwarder's 30 s PutRecords deadline."
  type        = number
  default     = 60
}

variable "reserved_concurrency" {
  description = "Reserved concurrency; null or -1: unreserved."
  type        = number
  default     = null
}

variable "log_retention_days" {
  description = "Log retention (days)."
  type        = number
  default     = 30
}

variable "partition" {
  description = "AWS partition, for ARNs."
  type        = string
}

variable "region" {
  description = "AWS region, for ARNs."
  type        = string
}

variable "account_id" {
  description = "AWS account, for ARNs."
  type        = string
}
