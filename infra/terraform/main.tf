# shardline on AWS: input bucket -> (S3 notification | EventBridge) -> forwarder Lambda ->
# Kinesis stream -> ECS workers (KCL leases, ledger and dead letters in DynamoDB) -> output
# bucket. See docs/deploy.md.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  input_bucket      = coalesce(var.input_bucket_name, "${var.name}-input-${local.account}-${local.region}")
  output_bucket     = coalesce(var.output_bucket_name, "${var.name}-output-${local.account}-${local.region}")
  stream_name       = "${var.name}-events"
  lease_table       = "${var.name}-leases"
  ledger_table      = "${var.name}-ledger"
  dead_letter_table = "${var.name}-dead-letters"
  forwarder_name    = "${var.name}-forwarder"
  rule_name         = "${var.name}-input-events"

  # ARNs are built from the names rather than read from the resources, so that every IAM policy
  # is known when the plan is made and the policy check (policycheck) can read it there.
  arn_prefix        = "arn:${local.partition}"
  input_bucket_arn  = "${local.arn_prefix}:s3:::${local.input_bucket}"
  output_bucket_arn = "${local.arn_prefix}:s3:::${local.output_bucket}"
  stream_arn        = "${local.arn_prefix}:kinesis:${local.region}:${local.account}:stream/${local.stream_name}"
  table_arns = {
    lease       = "${local.arn_prefix}:dynamodb:${local.region}:${local.account}:table/${local.lease_table}"
    ledger      = "${local.arn_prefix}:dynamodb:${local.region}:${local.account}:table/${local.ledger_table}"
    dead_letter = "${local.arn_prefix}:dynamodb:${local.region}:${local.account}:table/${local.dead_letter_table}"
  }
  rule_arn = "${local.arn_prefix}:events:${local.region}:${local.account}:rule/${local.rule_name}"
  ecr_arn  = var.create_ecr_repository ? "${local.arn_prefix}:ecr:${local.region}:${local.account}:repository/${var.name}" : null

  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.module}/../../dist/forwarder-lambda.zip")

  # Open shards to size from: an on-demand stream starts with 4.
  sizing_shards    = var.stream_mode == "ON_DEMAND" ? 4 : var.shard_count
  worker_max_count = coalesce(var.worker_max_count, local.sizing_shards)

  # 10 concurrent forwarders per shard: one invocation forwards one S3 event with a PutRecords of
  # 20-50 ms, so 10 forward 200-500 events/s, under a shard's 1,000 records/s (docs/deploy.md).
  forwarder_reserved_concurrency = coalesce(var.forwarder_reserved_concurrency, 10 * local.sizing_shards)

  # The running-tasks alarm reads Container Insights' RunningTaskCount.
  container_insights = coalesce(var.container_insights, var.create_alarms)

  worker_metrics_to_cloudwatch = var.worker_metrics == "cloudwatch"
  worker_image = (
    var.worker_image != null ? var.worker_image :
    var.create_ecr_repository && var.image_tag != null ? "${module.registry[0].repository_url}:${var.image_tag}" :
    null
  )

  use_default_vpc  = length(var.subnet_ids) == 0
  subnet_ids       = local.use_default_vpc ? data.aws_subnets.default[0].ids : var.subnet_ids
  vpc_id           = local.use_default_vpc ? data.aws_vpc.default[0].id : data.aws_subnet.first[0].vpc_id
  assign_public_ip = var.assign_public_ip != null ? var.assign_public_ip : local.use_default_vpc
}

data "aws_vpc" "default" {
  count   = local.use_default_vpc ? 1 : 0
  default = true
}

data "aws_subnets" "default" {
  count = local.use_default_vpc ? 1 : 0

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default[0].id]
  }

  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

data "aws_subnet" "first" {
  count = local.use_default_vpc ? 0 : 1
  id    = var.subnet_ids[0]
}

module "input_bucket" {
  source = "./modules/bucket"
  count  = var.create_input_bucket ? 1 : 0

  name          = local.input_bucket
  partition     = local.partition
  kms_key_arn   = var.kms_key_arn
  versioning    = var.bucket_versioning
  force_destroy = var.force_destroy_buckets
}

module "output_bucket" {
  source = "./modules/bucket"

  name          = local.output_bucket
  grant_prefix  = var.output_prefix == "" ? null : var.output_prefix
  partition     = local.partition
  kms_key_arn   = var.kms_key_arn
  versioning    = var.bucket_versioning
  force_destroy = var.force_destroy_buckets
}

module "stream" {
  source = "./modules/stream"

  name            = local.stream_name
  mode            = var.stream_mode
  shard_count     = var.shard_count
  retention_hours = var.stream_retention_hours
  kms_key_arn     = var.kms_key_arn
}

module "tables" {
  source = "./modules/tables"

  lease_table         = local.lease_table
  ledger_table        = local.ledger_table
  dead_letter_table   = local.dead_letter_table
  deletion_protection = var.table_deletion_protection
  kms_key_arn         = var.kms_key_arn
}

module "forwarder" {
  source = "./modules/forwarder"

  name                 = local.forwarder_name
  zip_path             = local.lambda_zip_path
  stream_name          = module.stream.name
  input_buckets        = [local.input_bucket]
  stream_arn           = local.stream_arn
  kms_key_arn          = var.kms_key_arn
  eventbridge_rule_arn = var.notify_eventbridge ? local.rule_arn : null
  memory_mb            = var.forwarder_memory_mb
  timeout_seconds      = var.forwarder_timeout_seconds
  reserved_concurrency = local.forwarder_reserved_concurrency
  log_retention_days   = var.log_retention_days
  partition            = local.partition
  region               = local.region
  account_id           = local.account
}

module "notifications" {
  source = "./modules/notifications"

  bucket_name        = var.create_input_bucket ? module.input_bucket[0].name : local.input_bucket
  bucket_arn         = local.input_bucket_arn
  account_id         = local.account
  function_name      = module.forwarder.function_name
  function_arn       = module.forwarder.function_arn
  failure_queue_arn  = module.forwarder.failure_queue_arn
  notify_lambda      = var.notify_lambda
  notify_eventbridge = var.notify_eventbridge
  rule_name          = local.rule_name
  filter_prefix      = var.notification_filter_prefix
  filter_suffix      = var.notification_filter_suffix
}

module "registry" {
  source = "./modules/registry"
  count  = var.create_ecr_repository ? 1 : 0

  name         = var.name
  force_delete = var.force_destroy_buckets
}

module "workers" {
  source = "./modules/workers"

  name                      = var.name
  image                     = local.worker_image
  ecr_repository_arn        = local.ecr_arn
  architecture              = var.worker_architecture
  cpu                       = var.worker_cpu
  memory                    = var.worker_memory
  desired_count             = var.worker_min_count
  min_count                 = var.worker_min_count
  max_count                 = local.worker_max_count
  scaling_metric            = var.scaling_metric
  iterator_age_scale_out_ms = var.iterator_age_scale_out_ms
  iterator_age_scale_in_ms  = var.iterator_age_scale_in_ms
  cpu_target_percent        = var.cpu_target_percent
  stop_timeout_seconds      = var.stop_timeout_seconds
  metrics_port              = var.metrics_port
  metrics_ingress_cidrs     = var.metrics_ingress_cidrs
  environment               = var.worker_environment
  output_prefix             = var.output_prefix
  input_prefix              = var.notification_filter_prefix
  metrics_to_cloudwatch     = local.worker_metrics_to_cloudwatch
  metrics_collector_image   = var.metrics_collector_image
  log_retention_days        = var.log_retention_days
  container_insights        = local.container_insights
  vpc_id                    = local.vpc_id
  subnet_ids                = local.subnet_ids
  assign_public_ip          = local.assign_public_ip

  stream_name           = module.stream.name
  stream_arn            = local.stream_arn
  lease_table           = module.tables.names["lease"]
  lease_table_arn       = local.table_arns["lease"]
  ledger_table          = module.tables.names["ledger"]
  ledger_table_arn      = local.table_arns["ledger"]
  dead_letter_table     = module.tables.names["dead_letter"]
  dead_letter_table_arn = local.table_arns["dead_letter"]
  input_bucket_arn      = local.input_bucket_arn
  output_bucket         = module.output_bucket.name
  output_bucket_arn     = local.output_bucket_arn
  kms_key_arn           = var.kms_key_arn

  partition  = local.partition
  region     = local.region
  account_id = local.account
}

module "alarms" {
  source = "./modules/alarms"

  name                            = var.name
  create_alarms                   = var.create_alarms
  topic_arn                       = var.alarm_topic_arn
  kms_key_arn                     = var.kms_key_arn
  email_addresses                 = var.alarm_email_addresses
  https_endpoints                 = var.alarm_https_endpoints
  stream_name                     = module.stream.name
  retention_hours                 = var.stream_retention_hours
  iterator_age_retention_fraction = var.alarm_iterator_age_retention_fraction
  function_name                   = module.forwarder.function_name
  failure_queue_name              = module.forwarder.failure_queue_name
  tables                          = module.tables.names
  cluster_name                    = module.workers.cluster_name
  service_name                    = module.workers.service_name
  min_count                       = var.worker_min_count
  worker_metrics                  = local.worker_metrics_to_cloudwatch
  metrics_namespace               = module.workers.metrics_namespace
  checkpoint_lag_seconds          = var.alarm_checkpoint_lag_seconds
  create_dashboard                = var.create_dashboard
  region                          = local.region
  account_id                      = local.account
  partition                       = local.partition
}
