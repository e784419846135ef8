# The CloudWatch dashboard "<name>": one row per stage of the pipeline, from the input events to
# the outputs, then the worker metrics the ADOT sidecar ships (worker_metrics).

locals {
  # Each metric as the dashboard JSON wants it: [namespace, name, dim1, value1, ..., {options}]
  # (concat(...), not flatten, joins lists of them: flatten would take the metrics apart too).
  aws_widgets = [
    {
      title   = "Stream: records in and read"
      metrics = [["AWS/Kinesis", "IncomingRecords", "StreamName", var.stream_name, { stat = "Sum" }], ["AWS/Kinesis", "GetRecords.Records", "StreamName", var.stream_name, { stat = "Sum" }]]
    },
    {
      title   = "Stream: iterator age (max, ms)"
      metrics = [["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", var.stream_name, { stat = "Maximum" }]]
    },
    {
      title   = "Stream: write throttling"
      metrics = [["AWS/Kinesis", "WriteProvisionedThroughputExceeded", "StreamName", var.stream_name, { stat = "Sum" }], ["AWS/Kinesis", "PutRecords.ThrottledRecords", "StreamName", var.stream_name, { stat = "Sum" }]]
    },
    {
      title = "Forwarder: invocations, errors, throttles"
      metrics = [
        ["AWS/Lambda", "Invocations", "FunctionName", var.function_name, { stat = "Sum" }],
        ["AWS/Lambda", "Errors", "FunctionName", var.function_name, { stat = "Sum" }],
        ["AWS/Lambda", "Throttles", "FunctionName", var.function_name, { stat = "Sum" }],
      ]
    },
    {
      title = "Forwarder: concurrency and duration"
      metrics = [
        ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", var.function_name, { stat = "Maximum" }],
        ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "p99", yAxis = "right" }],
      ]
    },
    {
      title   = "Failure queue: messages (events not forwarded)"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.failure_queue_name, { stat = "Maximum" }]]
    },
    {
      title = "Tables: throttle events"
      metrics = concat([for role, table in var.tables : [
        ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", table, { stat = "Sum", label = "${role} reads" }],
        ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", table, { stat = "Sum", label = "${role} writes" }],
      ]]...)
    },
    {
      title = "Tables: consumed capacity"
      metrics = concat([for role, table in var.tables : [
        ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", table, { stat = "Sum", label = "${role} RCU" }],
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", table, { stat = "Sum", label = "${role} WCU" }],
      ]]...)
    },
    {
      title = "Workers: CPU and memory (%)"
      metrics = [
        ["AWS/ECS", "CPUUtilization", "ClusterName", var.cluster_name, "ServiceName", var.service_name, { stat = "Average" }],
        ["AWS/ECS", "MemoryUtilization", "ClusterName", var.cluster_name, "ServiceName", var.service_name, { stat = "Maximum" }],
      ]
    },
    {
      title   = "Workers: running tasks"
      metrics = [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.service_name, { stat = "Average" }]]
    },
  ]

  # Shown only when the worker metrics reach CloudWatch.
  worker_widgets = [
    {
      title = "Workers: records by outcome"
      metrics = [for o in ["applied", "duplicate", "stale", "superseded", "dead_lettered"] :
        [var.metrics_namespace, "shardline_worker_records_total", "Deployment", var.name, "outcome", o, { stat = "Sum" }]
      ]
    },
    {
      title   = "Workers: dead letters"
      metrics = [[var.metrics_namespace, "shardline_worker_dead_letters_total", "Deployment", var.name, { stat = "Sum" }]]
    },
    {
      title = "Workers: lag (max over shards)"
      metrics = [
        [var.metrics_namespace, "shardline_worker_checkpoint_lag_seconds", "Deployment", var.name, { stat = "Maximum", label = "checkpoint lag (s)" }],
        [var.metrics_namespace, "shardline_worker_millis_behind_latest", "Deployment", var.name, { stat = "Maximum", label = "behind latest (ms)", yAxis = "right" }],
      ]
    },
    {
      title = "Workers: retries, handler timeouts, overdue handlers"
      metrics = [
        [var.metrics_namespace, "shardline_worker_retries_total", "Deployment", var.name, { stat = "Sum" }],
        [var.metrics_namespace, "shardline_worker_handler_timeouts_total", "Deployment", var.name, { stat = "Sum" }],
        [var.metrics_namespace, "shardline_worker_handlers_overdue", "Deployment", var.name, { stat = "Maximum" }],
      ]
    },
  ]

  # (slice, not a conditional: the two lists are tuples of different types.)
  widgets = concat(local.aws_widgets, slice(local.worker_widgets, 0, var.worker_metrics ? length(local.worker_widgets) : 0))

  dashboard = {
    widgets = [for i, w in local.widgets : {
      type   = "metric"
      x      = (i % 3) * 8
      y      = floor(i / 3) * 6
      width  = 8
      height = 6
      properties = {
        title   = w.title
        region  = var.region
        view    = "timeSeries"
        stacked = false
        period  = 300
        metrics = w.metrics
      }
    }]
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode(local.dashboard)
}
