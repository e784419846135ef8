# Alarms that page someone, the SNS topic they notify, and a CloudWatch dashboard. Every alarm
# notifies the topic when it fires and when it clears; what to do about each is in
# docs/deploy.md, "Runbook: alarms" (each description names its section).
#
# CloudWatch can publish to an encrypted topic only with a customer managed key whose policy
# lets cloudwatch.amazonaws.com use it (the AWS managed SNS key cannot be changed to allow it),
# so a created topic gets kms_key_arn or a key of its own.

locals {
  create_topic = var.create_alarms && var.topic_arn == null
  create_key   = local.create_topic && var.kms_key_arn == null
  topic_arn    = var.create_alarms ? coalesce(var.topic_arn, try(aws_sns_topic.this[0].arn, null)) : null
  actions      = local.topic_arn == null ? [] : [local.topic_arn]
  runbook      = "Runbook: docs/deploy.md, \"Runbook: alarms\""

  retention_ms = var.retention_hours * 3600 * 1000

  # One CloudWatch alarm per entry: a single metric compared with a threshold. period and
  # evaluation are in seconds and periods; datapoints (of evaluation) must breach. An entry
  # states only what differs from alarm_defaults.
  alarm_defaults = {
    period     = 300
    evaluation = 1
    datapoints = 1
    operator   = "GreaterThanThreshold"
    threshold  = 0
    missing    = "notBreaching"
  }
  metric_alarms = { for name, alarm in local.alarm_entries : name => merge(local.alarm_defaults, alarm) }
  alarm_entries = merge(
    {
      "failure-queue-not-empty" = {
        description = "The forwarder's failure queue holds S3 events whose forwarding failed after Lambda's retries: they are not in the stream. ${local.runbook}, failure-queue-not-empty."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = var.failure_queue_name }
        statistic   = "Maximum"
      }
      "iterator-age-near-retention" = {
        description = "The oldest unread record of ${var.stream_name} is older than ${var.iterator_age_retention_fraction * 100}% of the stream's ${var.retention_hours} h retention: records expire unprocessed if this goes on. ${local.runbook}, iterator-age-near-retention."
        namespace   = "AWS/Kinesis"
        metric      = "GetRecords.IteratorAgeMilliseconds"
        dimensions  = { StreamName = var.stream_name }
        statistic   = "Maximum"
        threshold   = floor(local.retention_ms * var.iterator_age_retention_fraction)
      }
      "forwarder-errors" = {
        description = "The forwarder Lambda returned errors in 2 of the last 3 five-minute periods (Lambda retries an event twice, then puts it in the failure queue). ${local.runbook}, forwarder-errors."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = var.function_name }
        statistic   = "Sum"
        evaluation  = 3
        datapoints  = 2
      }
      "forwarder-throttled" = {
        description = "The forwarder Lambda has been throttled for 15 minutes: events arrive faster than its reserved concurrency forwards them (Lambda keeps retrying them for up to 6 hours). ${local.runbook}, forwarder-throttled."
        namespace   = "AWS/Lambda"
        metric      = "Throttles"
        dimensions  = { FunctionName = var.function_name }
        statistic   = "Sum"
        evaluation  = 3
        datapoints  = 3
      }
      "stream-write-throttled" = {
        description = "Writes to ${var.stream_name} exceed its shards' limits (1,000 records/s or 1 MB/s per shard) in 2 of the last 3 five-minute periods. ${local.runbook}, stream-write-throttled."
        namespace   = "AWS/Kinesis"
        metric      = "WriteProvisionedThroughputExceeded"
        dimensions  = { StreamName = var.stream_name }
        statistic   = "Sum"
        evaluation  = 3
        datapoints  = 2
      }
      "workers-below-minimum" = {
        description = "Fewer than ${var.min_count} worker task(s) of ${var.service_name} have been running for 5 minutes (ECS Container Insights RunningTaskCount; no data counts as none running). ${local.runbook}, workers-below-minimum."
        namespace   = "ECS/ContainerInsights"
        metric      = "RunningTaskCount"
        dimensions  = { ClusterName = var.cluster_name, ServiceName = var.service_name }
        statistic   = "Average"
        period      = 60
        evaluation  = 5
        datapoints  = 5
        operator    = "LessThanThreshold"
        threshold   = var.min_count
        missing     = "breaching"
      }
    },
    # Worker metrics exist only with the metrics sidecar; a filter, not a conditional, because
    # the entries' attribute sets differ (each states only what differs from alarm_defaults).
    { for name, alarm in {
      "dead-letters" = {
        description = "Workers dead-lettered records in the last 5 minutes (shardline_worker_dead_letters_total): those inputs have no up-to-date output. ${local.runbook}, dead-letters."
        namespace   = var.metrics_namespace
        metric      = "shardline_worker_dead_letters_total"
        dimensions  = { Deployment = var.name }
        statistic   = "Sum"
      }
      "checkpoint-lag" = {
        description = "A shard's last checkpointed record was more than ${var.checkpoint_lag_seconds} s old when it was checkpointed, for 10 minutes (largest shardline_worker_checkpoint_lag_seconds). ${local.runbook}, checkpoint-lag."
        namespace   = var.metrics_namespace
        metric      = "shardline_worker_checkpoint_lag_seconds"
        dimensions  = { Deployment = var.name }
        statistic   = "Maximum"
        evaluation  = 2
        datapoints  = 2
        threshold   = var.checkpoint_lag_seconds
      }
    } : name => alarm if var.worker_metrics },
  )
}

# ---- topic ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "topic_key" {
  count = local.create_key ? 1 : 0

  statement {
    # The account administers the key through IAM (the default key policy); without this
    # statement nobody could change or delete the key.
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${var.partition}:iam::${var.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_kms_key" "topic" {
  count = local.create_key ? 1 : 0

  description             = "shardline ${var.name}: alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.topic_key[0].json
}

resource "aws_kms_alias" "topic" {
  count = local.create_key ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.topic[0].key_id
}

resource "aws_sns_topic" "this" {
  count = local.create_topic ? 1 : 0

  name              = "${var.name}-alarms"
  display_name      = "shardline ${var.name} alarms"
  kms_master_key_id = local.create_key ? aws_kms_key.topic[0].arn : var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create_topic ? toset(var.email_addresses) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  for_each = local.create_topic ? toset(var.https_endpoints) : toset([])

  topic_arn              = aws_sns_topic.this[0].arn
  protocol               = "https"
  endpoint               = each.value
  endpoint_auto_confirms = true
}

# ---- alarms ---------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.create_alarms ? local.metric_alarms : {}

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation
  datapoints_to_alarm = each.value.datapoints
  comparison_operator = each.value.operator
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# DynamoDB: read and write throttle events of one table, added up (on-demand tables throttle when
# traffic doubles its previous peak within 30 minutes, or on one hot partition).
resource "aws_cloudwatch_metric_alarm" "table_throttled" {
  for_each = var.create_alarms ? var.tables : {}

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}-table-throttled"
  alarm_description   = "Requests to the ${each.key} table ${each.value} were throttled in 2 of the last 3 five-minute periods. ${local.runbook}, table-throttled."
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "throttled"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttle events"
    return_data = true
  }

  metric_query {
    id = "reads"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = each.value }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "writes"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = each.value }
      stat        = "Sum"
      period      = 300
    }
  }
}
