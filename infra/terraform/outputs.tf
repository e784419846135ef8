# Everything docs/deploy.md's commands read with `terraform output -raw NAME`.

output "region" {
  description = "AWS region of the deployment."
  value       = local.region
}

output "account_id" {
  description = "AWS account of the deployment."
  value       = local.account
}

output "input_bucket" {
  description = "Input bucket: objects put here are processed."
  value       = var.create_input_bucket ? module.input_bucket[0].name : local.input_bucket
}

output "output_bucket" {
  description = "Output bucket: grayscale copies appear here (under output_prefix)."
  value       = module.output_bucket.name
}

output "stream_name" {
  description = "Kinesis stream (SHARDLINE_STREAM)."
  value       = module.stream.name
}

output "stream_arn" {
  description = "Kinesis stream ARN."
  value       = module.stream.arn
}

output "stream_mode" {
  description = "PROVISIONED or ON_DEMAND."
  value       = var.stream_mode
}

output "shard_count" {
  description = "Open shards of a PROVISIONED stream as configured (null for ON_DEMAND)."
  value       = var.stream_mode == "PROVISIONED" ? var.shard_count : null
}

output "lease_table" {
  description = "KCL lease and checkpoint table (SHARDLINE_LEASE_TABLE; hash key ShardID)."
  value       = module.tables.names["lease"]
}

output "ledger_table" {
  description = "Per-object ledger table (SHARDLINE_LEDGER_TABLE; hash key object)."
  value       = module.tables.names["ledger"]
}

output "dead_letter_table" {
  description = "Dead-letter table (SHARDLINE_DEAD_LETTER_TABLE; hash key id)."
  value       = module.tables.names["dead_letter"]
}

output "forwarder_function_name" {
  description = "Forwarder Lambda function."
  value       = module.forwarder.function_name
}

output "forwarder_function_arn" {
  description = "Forwarder Lambda function ARN."
  value       = module.forwarder.function_arn
}

output "forwarder_role_name" {
  description = "Execution role of the forwarder."
  value       = module.forwarder.role_name
}

output "forwarder_log_group" {
  description = "CloudWatch log group of the forwarder."
  value       = module.forwarder.log_group_name
}

output "forwarder_failure_queue_url" {
  description = "SQS queue of invocations that failed after Lambda's retries (nothing is dropped silently: watch its depth)."
  value       = module.forwarder.failure_queue_url
}

output "s3_notification_events" {
  description = "S3 event types the input bucket sends to the forwarder."
  value       = module.notifications.s3_events
}

output "eventbridge_rule_arn" {
  description = "EventBridge rule routing the input bucket's events to the forwarder (null unless notify_eventbridge)."
  value       = module.notifications.eventbridge_rule_arn
}

output "ecr_repository_url" {
  description = "ECR repository for the worker image (docker push target); null when create_ecr_repository is false."
  value       = var.create_ecr_repository ? module.registry[0].repository_url : null
}

output "worker_image" {
  description = "Image the worker tasks run."
  value       = local.worker_image
}

output "ecs_cluster_name" {
  description = "ECS cluster of the workers."
  value       = module.workers.cluster_name
}

output "ecs_service_name" {
  description = "ECS service of the workers."
  value       = module.workers.service_name
}

output "task_definition_family" {
  description = "Task definition family of the workers."
  value       = module.workers.task_definition_family
}

output "task_definition_arn" {
  description = "Current task definition revision of the workers."
  value       = module.workers.task_definition_arn
}

output "worker_log_group" {
  description = "CloudWatch log group of the workers."
  value       = module.workers.log_group_name
}

output "worker_security_group_id" {
  description = "Security group of the worker tasks."
  value       = module.workers.security_group_id
}

output "worker_subnet_ids" {
  description = "Subnets the worker tasks run in."
  value       = local.subnet_ids
}

output "worker_task_role_name" {
  description = "IAM role of the worker tasks."
  value       = module.workers.task_role_name
}

output "worker_execution_role_name" {
  description = "ECS task execution role (image pull, logs)."
  value       = module.workers.execution_role_name
}

output "worker_policy_arn" {
  description = "Managed policy with exactly the worker permissions (task role; attach to EC2 instance roles too)."
  value       = module.workers.worker_policy_arn
}

output "worker_environment" {
  description = "SHARDLINE_* environment of the worker tasks; also what a worker on EC2 needs (docs/deploy.md)."
  value       = module.workers.environment
}

output "worker_max_count" {
  description = "Autoscaling maximum of the worker service."
  value       = local.worker_max_count
}

output "stop_timeout_seconds" {
  description = "ECS stopTimeout of the worker container (the worker's SHARDLINE_STOP_TIMEOUT is 5 s less)."
  value       = var.stop_timeout_seconds
}

output "operator_policy_arn" {
  description = "Managed policy for operators (status, reshard, reprocess, redrive, reconcile, ledger reset, replay-failures); null unless create_operator_policy."
  value       = var.create_operator_policy ? aws_iam_policy.operator[0].arn : null
}

output "ec2_instance_profile_name" {
  description = "Instance profile for workers on EC2; null unless create_ec2_instance_profile."
  value       = var.create_ec2_instance_profile ? aws_iam_instance_profile.ec2_worker[0].name : null
}

output "stream_retention_hours" {
  description = "Record retention of the stream (hours)."
  value       = var.stream_retention_hours
}

output "forwarder_reserved_concurrency" {
  description = "Reserved concurrency of the forwarder (-1: unreserved)."
  value       = local.forwarder_reserved_concurrency
}

output "table_ttl_attribute" {
  description = "Attribute (Number, epoch seconds) after which DynamoDB deletes items of the ledger and dead-letter tables (TTL is enabled on both; the lease table has none)."
  value       = module.tables.ttl_attribute
}

output "ledger_tombstone_min_ttl_hours" {
  description = "The shortest safe lifetime of a ledger tombstone: stream retention + the longest notification delay (EventBridge retries a delivery for up to 24 h; Lambda's async queue keeps an event up to 6 h) + a 24 h margin."
  value       = var.stream_retention_hours + 24 + 24
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (null unless create_alarms)."
  value       = module.alarms.topic_arn
}

output "alarm_names" {
  description = "The alarms of docs/deploy.md's runbook (the scaling alarms are not among them)."
  value       = module.alarms.alarm_names
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the deployment (null unless create_dashboard)."
  value       = module.alarms.dashboard_name
}

output "worker_metrics_namespace" {
  description = "CloudWatch namespace of the worker metrics (dimension Deployment = name); null unless worker_metrics = cloudwatch."
  value       = local.worker_metrics_to_cloudwatch ? module.workers.metrics_namespace : null
}

output "worker_metrics_log_group" {
  description = "Log group of the collector's embedded-metric-format events; null unless worker_metrics = cloudwatch."
  value       = module.workers.metrics_log_group_name
}

output "container_insights" {
  description = "Whether ECS Container Insights is on for the cluster."
  value       = local.container_insights
}

output "input_prefix" {
  description = "Notification filter prefix: only inputs under it are forwarded, and the workers may read only those."
  value       = var.notification_filter_prefix
}

output "output_prefix" {
  description = "Key prefix of the outputs; the worker's output-bucket grants stop there."
  value       = var.output_prefix
}

output "ec2_systemd_unit" {
  description = "shardline-worker@.service for workers on EC2 (docs/deploy.md): a template unit (instance = metrics port) with TimeoutStopSec = stop_timeout_seconds and MemoryMax = worker_memory."
  value = templatefile("${path.module}/templates/shardline-worker@.service.tftpl", {
    stop_timeout_seconds = var.stop_timeout_seconds
    memory_mib           = var.worker_memory
  })
}
