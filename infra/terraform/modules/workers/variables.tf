variable "name" {
  description = "Prefix of the cluster, service, task family, roles, log group and alarms."
  type        = string
}

variable "image" {
  description = "Worker image (ENTRYPOINT shardline)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ECR repository the image is pulled from (grants pull on it); null for images outside ECR."
  type        = string
  default     = null
}

variable "architecture" {
  description = "ARM64 or X86_64."
  type        = string
  default     = "ARM64"
}

variable "cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 2048
}

variable "desired_count" {
  description = "Tasks when the service is created; autoscaling owns the count afterwards."
  type        = number
  default     = 1
}

variable "min_count" {
  description = "Autoscaling minimum."
  type        = number
  default     = 1
}

variable "max_count" {
  description = "Autoscaling maximum (the stream's open shard count is the useful upper bound)."
  type        = number
  default     = 2
}

variable "scaling_metric" {
  description = "iterator_age or cpu."
  type        = string
  default     = "iterator_age"
}

variable "iterator_age_scale_out_ms" {
  description = "Scale out above this maximum iterator age (3 minutes)."
  type        = number
  default     = 60000
}

variable "iterator_age_scale_in_ms" {
  description = "Scale in below this maximum iterator age (15 minutes)."
  type        = number
  default     = 5000
}

variable "cpu_target_percent" {
  description = "Target CPU when scaling_metric = cpu."
  type        = number
  default     = 60
}

variable "stop_timeout_seconds" {
  description = "ECS stopTimeout; the worker gets 5 s less as --stop-timeout."
  type        = number
  default     = 60
}

variable "metrics_port" {
  description = "Port of /metrics, /healthz, /readyz."
  type        = number
  default     = 9102
}

variable "metrics_ingress_cidrs" {
  description = "CIDRs allowed to reach the metrics port."
  type        = list(string)
  default     = []
}

variable "environment" {
  description = "Extra container environment (overrides the derived SHARDLINE_* values)."
  type        = map(string)
  default     = {}
}

variable "output_prefix" {
  description = "SHARDLINE_OUTPUT_PREFIX (\"\" = unset); the output-bucket grants are confined to it."
  type        = string
  default     = ""
}

variable "input_prefix" {
  description = "Key prefix of the inputs that reach the stream (the notification filter); the input-bucket reads are confined to it. \"\" = the whole bucket."
  type        = string
  default     = ""
}

variable "metrics_to_cloudwatch" {
  description = "Run the ADOT collector sidecar that ships the worker metrics to CloudWatch (metrics.tf)."
  type        = bool
  default     = true
}

variable "metrics_collector_image" {
  description = "Image of the ADOT collector sidecar."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
}

variable "metrics_log_retention_days" {
  description = "Retention of the embedded-metric-format log group (the metrics themselves are kept by CloudWatch for 15 months regardless)."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Retention of the worker log group."
  type        = number
  default     = 30
}

variable "container_insights" {
  description = "Enable Container Insights on the cluster."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC of the tasks' security group."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "assign_public_ip" {
  description = "Give tasks a public IP."
  type        = bool
  default     = false
}

variable "stream_name" {
  description = "Kinesis stream read by the workers."
  type        = string
}

variable "stream_arn" {
  description = "ARN of the stream."
  type        = string
}

variable "lease_table" {
  description = "Lease table name."
  type        = string
}

variable "lease_table_arn" {
  description = "Lease table ARN."
  type        = string
}

variable "ledger_table" {
  description = "Ledger table name."
  type        = string
}

variable "ledger_table_arn" {
  description = "Ledger table ARN."
  type        = string
}

variable "dead_letter_table" {
  description = "Dead-letter table name."
  type        = string
}

variable "dead_letter_table_arn" {
  description = "Dead-letter table ARN."
  type        = string
}

variable "input_bucket_arn" {
  description = "ARN of the input bucket (read)."
  type        = string
}

variable "output_bucket" {
  description = "Output bucket name."
  type        = string
}

variable "output_bucket_arn" {
  description = "ARN of the output bucket (write)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key of the stream, tables and buckets, if any."
  type        = string
  default     = null
}

variable "partition" {
  description = "AWS partition, for ARNs."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "account_id" {
  description = "AWS account, for ARNs."
  type        = string
}
