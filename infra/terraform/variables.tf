# Inputs of the shardline deployment. Every variable has a default except none: `terraform apply`
# with no variables creates a working deployment in the default VPC once an image tag is set
# (see docs/deploy.md). Names are derived from `name`; buckets also get the account and region so
# that they are globally unique.

# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name (stream, tables, function, cluster, roles, buckets). Lower case letters, digits and '-', at most 24 characters (bucket names add the account and region)."
  type        = string
  default     = "shardline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name))
    error_message = "name must be 2-24 characters: lower case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags on every resource (merged into the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the buckets, the stream and the tables. null: AWS managed encryption (SSE-S3 for buckets, alias/aws/kinesis for the stream, DynamoDB's default key), which needs no KMS permissions."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "input_bucket_name" {
  description = "Input bucket (the one whose objects are processed). null: \"<name>-input-<account>-<region>\"."
  type        = string
  default     = null
}

variable "create_input_bucket" {
  description = "Create the input bucket. false: use an existing bucket named input_bucket_name; its notification configuration is then REPLACED by shardline's (S3 keeps one configuration per bucket)."
  type        = bool
  default     = true
}

variable "output_bucket_name" {
  description = "Output bucket for the grayscale copies. null: \"<name>-output-<account>-<region>\"."
  type        = string
  default     = null
}

variable "output_prefix" {
  description = "Key prefix of the copies in the output bucket (SHARDLINE_OUTPUT_PREFIX)."
  type        = string
  default     = ""
}

variable "bucket_versioning" {
  description = "Enable versioning on the buckets shardline creates."
  type        = bool
  default     = false
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete non-empty buckets. Keep false in production."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Notifications (S3 -> forwarder)
# ---------------------------------------------------------------------------------------------

variable "notify_lambda" {
  description = "The input bucket invokes the forwarder directly with S3 event notifications (ObjectCreated, ObjectRemoved, LifecycleExpiration)."
  type        = bool
  default     = true
}

variable "notify_eventbridge" {
  description = "Send the input bucket's events to EventBridge and route Object Created/Object Deleted to the forwarder. With notify_lambda also true every event arrives twice (the ledger drops the duplicate); use both only while migrating from one path to the other."
  type        = bool
  default     = false
}

variable "notification_filter_prefix" {
  description = "Only keys starting with this prefix are forwarded (S3 notifications and the EventBridge rule; \"\" = all). The workers may then read only keys under it."
  type        = string
  default     = ""
}

variable "notification_filter_suffix" {
  description = "Only keys ending with this suffix are forwarded (S3 notifications and the EventBridge rule; \"\" = all)."
  type        = string
  default     = ""
}

# ---------------------------------------------------------------------------------------------
# Stream
# ---------------------------------------------------------------------------------------------

variable "stream_mode" {
  description = "Kinesis capacity mode: PROVISIONED (shard_count shards) or ON_DEMAND (AWS scales; starts at 4 shards)."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "shard_count" {
  description = "Open shards of a PROVISIONED stream. Changing it reshards with UpdateShardCount (uniform scaling; at most double or half per change). Also the default worker_max_count."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a positive whole number."
  }
}

variable "stream_retention_hours" {
  description = "How long records stay in the stream (24-8760). It bounds how far back `shardline reprocess` can go and how long workers may be down or behind without losing events; 72 h outlasts a weekend. Above 24 h costs extra per shard-hour (docs/deploy.md, Costs)."
  type        = number
  default     = 72

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760
    error_message = "stream_retention_hours must be between 24 and 8760."
  }
}

# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on the lease, ledger and dead-letter tables. Set false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Forwarder Lambda
# ---------------------------------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "The forwarder's deployment package, built by `make lambda-zip`. null: dist/forwarder-lambda.zip of this repository."
  type        = string
  default     = null
}

variable "forwarder_memory_mb" {
  description = "Forwarder Lambda memory (MB)."
  type        = number
  default     = 256
}

variable "forwarder_timeout_seconds" {
  description = "Forwarder Lambda timeout. Must exceed the forwarder's PutRecords deadline (30 s) so that it fails loudly instead of being cut off."
  type        = number
  default     = 60

  validation {
    condition     = var.forwarder_timeout_seconds > 30 && var.forwarder_timeout_seconds <= 900
    error_message = "forwarder_timeout_seconds must be above 30 (the PutRecords deadline) and at most 900."
  }
}

variable "forwarder_reserved_concurrency" {
  description = "Reserved concurrency of the forwarder: caps its PutRecords rate below the stream's write limit and keeps it from taking the account's concurrency; a burst above it is throttled, and Lambda retries throttled asynchronous events for up to 6 hours. null: 10 per shard (shard_count; ON_DEMAND: 4 shards). -1: unreserved. The account must keep 100 unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.forwarder_reserved_concurrency == null ? true : (var.forwarder_reserved_concurrency == -1 || var.forwarder_reserved_concurrency >= 1)
    error_message = "forwarder_reserved_concurrency must be null (derived), -1 (unreserved) or at least 1 (0 would stop the forwarder)."
  }
}

# ---------------------------------------------------------------------------------------------
# Workers (ECS)
# ---------------------------------------------------------------------------------------------

variable "create_ecr_repository" {
  description = "Create an ECR repository \"<name>\" for the worker image."
  type        = bool
  default     = true
}

variable "worker_image" {
  description = "Full worker image reference. null: <ECR repository URL>:<image_tag>."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Tag of the worker image in the ECR repository (e.g. the git commit). A new tag makes a new task definition revision and a rolling deploy."
  type        = string
  default     = null
}

variable "worker_architecture" {
  description = "CPU architecture of the worker tasks: ARM64 (Graviton, about 20% cheaper) or X86_64. The image must be built for it."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.worker_architecture)
    error_message = "worker_architecture must be ARM64 or X86_64."
  }
}

variable "worker_cpu" {
  description = "Fargate CPU units per worker task (256, 512, 1024, 2048, 4096, ...). With at most one busy task per shard, task size is what raises throughput: size it from peak events/s x CPU per image (docs/deploy.md, Capacity)."
  type        = number
  default     = 512
}

variable "worker_memory" {
  description = "Fargate memory (MiB) per worker task. Size it for the decoded images in flight: about 5 bytes per pixel (RGBA plus gray), and the handler holds up to a few images of SHARDLINE_MAX_PIXELS (50 MP by default) at once."
  type        = number
  default     = 2048
}

variable "worker_min_count" {
  description = "Fewest worker tasks (autoscaling minimum). At least 1: the iterator-age metric exists only while a worker reads the stream, so a service scaled to zero would never scale out again."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_count >= 1
    error_message = "worker_min_count must be at least 1."
  }
}

variable "worker_max_count" {
  description = "Most worker tasks (autoscaling maximum). null: shard_count (ON_DEMAND: 4). More workers than open shards only stand by."
  type        = number
  default     = null
}

variable "scaling_metric" {
  description = "What drives autoscaling: iterator_age (step scaling on the stream's GetRecords.IteratorAgeMilliseconds) or cpu (target tracking on service CPU)."
  type        = string
  default     = "iterator_age"

  validation {
    condition     = contains(["iterator_age", "cpu"], var.scaling_metric)
    error_message = "scaling_metric must be iterator_age or cpu."
  }
}

variable "iterator_age_scale_out_ms" {
  description = "Add a worker when the stream's maximum iterator age stays above this for 3 minutes."
  type        = number
  default     = 60000
}

variable "iterator_age_scale_in_ms" {
  description = "Remove a worker when the maximum iterator age stays below this for 15 minutes."
  type        = number
  default     = 5000
}

variable "cpu_target_percent" {
  description = "Target average CPU of the service when scaling_metric = cpu."
  type        = number
  default     = 60
}

variable "stop_timeout_seconds" {
  description = "ECS stopTimeout: seconds between SIGTERM and SIGKILL (Fargate: at most 120). The worker's --stop-timeout is set 5 s below it so that it drains, checkpoints and releases its leases before the kill."
  type        = number
  default     = 60

  validation {
    condition     = var.stop_timeout_seconds >= 15 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be between 15 and 120."
  }
}

variable "metrics_port" {
  description = "Port of the worker's /metrics, /healthz and /readyz (SHARDLINE_METRICS_ADDR)."
  type        = number
  default     = 9102
}

variable "metrics_ingress_cidrs" {
  description = "CIDRs allowed to scrape the workers' metrics port (e.g. the VPC's Prometheus). [] = no ingress at all."
  type        = list(string)
  default     = []
}

variable "worker_environment" {
  description = "Extra environment of the worker container, e.g. { SHARDLINE_MAX_PIXELS = \"20000000\", SHARDLINE_LOG_LEVEL = \"debug\" }. Overrides the values derived from the other variables."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the worker and forwarder CloudWatch log groups."
  type        = number
  default     = 30
}

variable "container_insights" {
  description = "ECS Container Insights on the cluster (extra CloudWatch cost, docs/deploy.md). null: on when create_alarms, because the running-tasks alarm reads its RunningTaskCount."
  type        = bool
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the worker tasks; they need a route to the AWS APIs (NAT gateway or VPC endpoints for Kinesis, DynamoDB, S3, ECR, CloudWatch Logs). The VPC is the subnets' VPC. []: the default subnets of the region's default VPC."
  type        = list(string)
  default     = []
}

variable "assign_public_ip" {
  description = "Give worker tasks a public IP (needed in public subnets without NAT, such as the default VPC's). null: true when subnet_ids is empty, else false."
  type        = bool
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Worker metrics (the route from /metrics to CloudWatch)
# ---------------------------------------------------------------------------------------------

variable "worker_metrics" {
  description = "Where the workers' Prometheus metrics go on ECS. \"cloudwatch\": an AWS Distro for OpenTelemetry collector sidecar scrapes /metrics every minute and writes the shardline_worker_* metrics the alarms and the dashboard use to CloudWatch (namespace Shardline, dimension Deployment = name) as embedded metric format logs. \"none\": no sidecar; /metrics only reaches scrapers allowed by metrics_ingress_cidrs, and the dead-letter and checkpoint-lag alarms are not created."
  type        = string
  default     = "cloudwatch"

  validation {
    condition     = contains(["cloudwatch", "none"], var.worker_metrics)
    error_message = "worker_metrics must be cloudwatch or none."
  }
}

variable "metrics_collector_image" {
  description = "Image of the metrics collector sidecar (worker_metrics = cloudwatch): the AWS Distro for OpenTelemetry collector. Pin a tag you have tested."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
}

# ---------------------------------------------------------------------------------------------
# Alarms and dashboard
# ---------------------------------------------------------------------------------------------

variable "create_alarms" {
  description = "Create the alarms of docs/deploy.md (Runbook) and the SNS topic they notify."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for the alarms (e.g. one your paging tool subscribes to). null: create \"<name>-alarms\", encrypted with kms_key_arn or, without one, with a key created for it (CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key)."
  type        = string
  default     = null
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the created alarm topic (each must confirm the subscription from the mail AWS sends)."
  type        = list(string)
  default     = []
}

variable "alarm_https_endpoints" {
  description = "HTTPS endpoints subscribed to the created alarm topic (e.g. a PagerDuty or Opsgenie integration URL; the endpoint must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.alarm_https_endpoints : startswith(u, "https://")])
    error_message = "alarm_https_endpoints must be https:// URLs."
  }
}

variable "alarm_iterator_age_retention_fraction" {
  description = "The iterator-age alarm fires when the oldest unread record is older than this fraction of stream_retention_hours: at 0.25 and 72 h, after 18 h behind, with 54 h left before records expire."
  type        = number
  default     = 0.25

  validation {
    condition     = var.alarm_iterator_age_retention_fraction > 0 && var.alarm_iterator_age_retention_fraction < 1
    error_message = "alarm_iterator_age_retention_fraction must be between 0 and 1."
  }
}

variable "alarm_checkpoint_lag_seconds" {
  description = "The checkpoint-lag alarm fires when the largest shardline_worker_checkpoint_lag_seconds (age of the last checkpointed record when it was checkpointed) stays above this for 10 minutes (worker_metrics = cloudwatch)."
  type        = number
  default     = 900
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard \"<name>\": stream, forwarder, failure queue, tables, workers and, with worker_metrics = cloudwatch, the worker metrics."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Operators and EC2
# ---------------------------------------------------------------------------------------------

variable "create_operator_policy" {
  description = "Create a managed policy for operators running `shardline status|reshard|reprocess|redrive|reconcile|ledger reset|replay-failures` (attach it to their role)."
  type        = bool
  default     = true
}

variable "create_ec2_instance_profile" {
  description = "Create an IAM role and instance profile with the worker permissions, for workers on plain EC2 (systemd)."
  type        = bool
  default     = false
}
