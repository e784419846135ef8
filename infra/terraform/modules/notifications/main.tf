# The input bucket's events reach the forwarder: directly as S3 event notifications (Lambda
# destination), through EventBridge, or both. S3 keeps exactly one notification configuration per
# bucket, so this module owns the input bucket's whole configuration.

locals {
  # Lifecycle expirations raise no ObjectRemoved event: without LifecycleExpiration an expired
  # input would keep its output forever.
  s3_events = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]

  # The EventBridge rule filters keys as the S3 notification does (the workers may read only
  # keys under the prefix): prefix, suffix, or both as a wildcard pattern ('*' and '\' escaped).
  escape = { for k, v in { prefix = var.filter_prefix, suffix = var.filter_suffix } : k => replace(replace(v, "\\", "\\\\"), "*", "\\*") }
  key_filter = (
    var.filter_prefix != "" && var.filter_suffix != "" ? { wildcard = "${local.escape.prefix}*${local.escape.suffix}" } :
    var.filter_prefix != "" ? { prefix = var.filter_prefix } :
    var.filter_suffix != "" ? { suffix = var.filter_suffix } :
    null
  )
}

resource "aws_lambda_permission" "s3" {
  count = var.notify_lambda ? 1 : 0

  statement_id   = "AllowS3Notifications"
  action         = "lambda:InvokeFunction"
  function_name  = var.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = var.bucket_arn
  source_account = var.account_id
}

resource "aws_s3_bucket_notification" "this" {
  bucket      = var.bucket_name
  eventbridge = var.notify_eventbridge

  dynamic "lambda_function" {
    for_each = var.notify_lambda ? [1] : []
    content {
      id                  = "shardline"
      lambda_function_arn = var.function_arn
      events              = local.s3_events
      filter_prefix       = var.filter_prefix == "" ? null : var.filter_prefix
      filter_suffix       = var.filter_suffix == "" ? null : var.filter_suffix
    }
  }

  # S3 sends a test event to the destination when the configuration is put and refuses the
  # configuration when it may not invoke the function.
  depends_on = [aws_lambda_permission.s3]
}

resource "aws_cloudwatch_event_rule" "s3" {
  count = var.notify_eventbridge ? 1 : 0

  name        = var.rule_name
  description = "shardline: object events of ${var.bucket_name} to the forwarder"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created", "Object Deleted"]
    detail = merge(
      { bucket = { name = [var.bucket_name] } },
      local.key_filter == null ? {} : { object = { key = [local.key_filter] } },
    )
  })
}

resource "aws_cloudwatch_event_target" "forwarder" {
  count = var.notify_eventbridge ? 1 : 0

  rule      = aws_cloudwatch_event_rule.s3[0].name
  target_id = "forwarder"
  arn       = var.function_arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = var.failure_queue_arn
  }
}

resource "aws_lambda_permission" "eventbridge" {
  count = var.notify_eventbridge ? 1 : 0

  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.s3[0].arn
}
