variable "bucket_name" {
  description = "Input bucket whose events are forwarded."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the input bucket."
  type        = string
}

variable "account_id" {
  description = "Account owning the bucket (guards the Lambda permission against other accounts' buckets of the same name)."
  type        = string
}

variable "function_name" {
  description = "Forwarder function name."
  type        = string
}

variable "function_arn" {
  description = "Forwarder function ARN."
  type        = string
}

variable "failure_queue_arn" {
  description = "SQS queue for EventBridge events that could not be delivered to the forwarder."
  type        = string
}

variable "notify_lambda" {
  description = "S3 event notifications invoke the forwarder directly."
  type        = bool
  default     = true
}

variable "notify_eventbridge" {
  description = "Enable EventBridge on the bucket and route its object events to the forwarder."
  type        = bool
  default     = false
}

variable "rule_name" {
  description = "Name of the EventBridge rule."
  type        = string
}

variable "filter_prefix" {
  description = "Key prefix filter of the S3 notification (\"\" = none)."
  type        = string
  default     = ""
}

variable "filter_suffix" {
  description = "Key suffix filter of the S3 notification (\"\" = none)."
  type        = string
  default     = ""
}
