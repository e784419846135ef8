# The route of the workers' Prometheus metrics to CloudWatch (metrics_to_cloudwatch): an AWS
# Distro for OpenTelemetry (ADOT) collector runs next to the worker in each task, scrapes the
# worker's /metrics over the task's loopback every minute, keeps the shardline_worker_* series
# listed below and writes them with its awsemf exporter as CloudWatch embedded metric format
# (EMF) log events to its own log group; CloudWatch Logs turns them into metrics in the namespace
# below, with the dimension Deployment = name (and the label listed for the metric). Counters
# arrive as the increase since the previous scrape (a Sum per period is "how many in the period"),
# gauges as their value. The alarms and the dashboard read these metrics.
#
# The configuration is the container's AOT_CONFIG_CONTENT, so a change to it is a new task
# definition revision (a rolling deploy) and nothing is read at run time. The collector needs no
# AWS permission but writing to that log group (aws_iam_role_policy.collector).

locals {
  collector_name    = "metrics-collector"
  metrics_namespace = "Shardline"
  metrics_log_group = "/ecs/${var.name}-worker-metrics"

  # Metric -> the label kept as a second dimension set besides [Deployment] (null: none). Every
  # dimension set is a CloudWatch metric of its own (about $0.30 a month each).
  shipped_metrics = {
    shardline_worker_records_received_total   = null
    shardline_worker_records_total            = "outcome"
    shardline_worker_dead_letters_total       = "reason"
    shardline_worker_checkpoint_lag_seconds   = null
    shardline_worker_millis_behind_latest     = null
    shardline_worker_shards_processing        = null
    shardline_worker_retries_total            = null
    shardline_worker_handler_timeouts_total   = null
    shardline_worker_handlers_overdue         = null
    shardline_worker_handler_duration_seconds = null
  }

  collector_config = yamlencode({
    extensions = { health_check = {} }
    receivers = {
      prometheus = {
        config = {
          global = { scrape_interval = "60s", scrape_timeout = "10s" }
          scrape_configs = [{
            # The worker serves the classic text format (no OpenMetrics unit metadata), and the
            # collector keeps Prometheus names as they are (its NormalizeName gate is off).
            job_name = "shardline-worker"
            static_configs = [{
              targets = ["127.0.0.1:${var.metrics_port}"]
              labels  = { Deployment = var.name }
            }]
            metric_relabel_configs = [{
              source_labels = ["__name__"]
              regex         = "(${join("|", keys(local.shipped_metrics))})(_bucket|_sum|_count)?"
              action        = "keep"
            }]
          }]
        }
      }
    }
    processors = {
      # The task's metadata (task id for the log stream name); no AWS call, no permission.
      resourcedetection = { detectors = ["env", "ecs"], timeout = "5s", override = false }
      batch             = { timeout = "60s" }
    }
    exporters = {
      awsemf = {
        region                           = var.region
        namespace                        = local.metrics_namespace
        log_group_name                   = local.metrics_log_group
        log_stream_name                  = "{TaskId}"
        dimension_rollup_option          = "NoDimensionRollup"
        resource_to_telemetry_conversion = { enabled = false }
        metric_declarations = [for m, label in local.shipped_metrics : {
          dimensions            = label == null ? [["Deployment"]] : [["Deployment"], ["Deployment", label]]
          metric_name_selectors = ["^${m}$"]
        }]
      }
    }
    service = {
      extensions = ["health_check"]
      pipelines = {
        metrics = {
          receivers  = ["prometheus"]
          processors = ["resourcedetection", "batch"]
          exporters  = ["awsemf"]
        }
      }
    }
  })
}

resource "aws_cloudwatch_log_group" "metrics" {
  count = var.metrics_to_cloudwatch ? 1 : 0

  name              = local.metrics_log_group
  retention_in_days = var.metrics_log_retention_days
}

data "aws_iam_policy_document" "collector" {
  statement {
    # The log group exists (Terraform creates it), so the exporter never needs CreateLogGroup;
    # DescribeLogStreams is what it calls before creating its stream.
    sid       = "EmbeddedMetrics"
    actions   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = ["${local.metrics_log_group_arn}:*"]
  }
}

resource "aws_iam_role_policy" "collector" {
  count = var.metrics_to_cloudwatch ? 1 : 0

  name   = "metrics-collector"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.collector.json
}
