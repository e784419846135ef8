variable "name" {
  description = "Prefix of the topic, key alias, alarms and dashboard; also the Deployment dimension of the worker metrics."
  type        = string
}

variable "create_alarms" {
  description = "Create the topic (unless topic_arn is given) and the alarms."
  type        = bool
  default     = true
}

variable "topic_arn" {
  description = "Existing SNS topic to notify; null: create \"<name>-alarms\"."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Customer managed key for the created topic; its key policy must let cloudwatch.amazonaws.com use it (docs/deploy.md). null: create a key for the topic."
  type        = string
  default     = null
}

variable "email_addresses" {
  description = "E-mail subscriptions of the created topic."
  type        = list(string)
  default     = []
}

variable "https_endpoints" {
  description = "HTTPS subscriptions of the created topic."
  type        = list(string)
  default     = []
}

variable "stream_name" {
  description = "Kinesis stream."
  type        = string
}

variable "retention_hours" {
  description = "Stream retention (hours)."
  type        = number
}

variable "iterator_age_retention_fraction" {
  description = "Iterator-age alarm threshold as a fraction of the retention."
  type        = number
  default     = 0.25
}

variable "function_name" {
  description = "Forwarder Lambda function."
  type        = string
}

variable "failure_queue_name" {
  description = "The forwarder's failure queue (SQS queue name)."
  type        = string
}

variable "tables" {
  description = "DynamoDB table names by role (lease, ledger, dead_letter)."
  type        = map(string)
}

variable "cluster_name" {
  description = "ECS cluster of the workers."
  type        = string
}

variable "service_name" {
  description = "ECS service of the workers."
  type        = string
}

variable "min_count" {
  description = "Fewest worker tasks the service should run."
  type        = number
}

variable "worker_metrics" {
  description = "The worker metrics reach CloudWatch (the dead-letter and checkpoint-lag alarms need them)."
  type        = bool
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the worker metrics."
  type        = string
  default     = "Shardline"
}

variable "checkpoint_lag_seconds" {
  description = "Checkpoint-lag alarm threshold (seconds)."
  type        = number
  default     = 900
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard."
  type        = bool
  default     = true
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "account_id" {
  description = "AWS account, for the key policy."
  type        = string
}

variable "partition" {
  description = "AWS partition, for ARNs."
  type        = string
}
