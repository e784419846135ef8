# The forwarder Lambda (cmd/forwarder-lambda; provided.al2023, arm64): S3 or EventBridge events in,
# PutRecords to the stream out. S3 and EventBridge invoke it asynchronously; a failed invocation
# (the forwarder returns an error when records could not be written before its deadline) is retried
# twice by Lambda and then sent to the failure queue instead of being dropped.

locals {
  log_group_arn = "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${var.name}"
  queue_name    = "${var.name}-failures"
  queue_arn     = "arn:${var.partition}:sqs:${var.region}:${var.account_id}:${local.queue_name}"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_sqs_queue" "failures" {
  name                      = local.queue_name
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "failures_queue" {
  count = var.eventbridge_rule_arn == null ? 0 : 1

  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.eventbridge_rule_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "failures" {
  count     = var.eventbridge_rule_arn == null ? 0 : 1
  queue_url = aws_sqs_queue.failures.id
  policy    = data.aws_iam_policy_document.failures_queue[0].json
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "shardline forwarder Lambda: PutRecords to ${var.stream_name} only"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteStream"
    actions   = ["kinesis:PutRecords"]
    resources = [var.stream_arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "FailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "StreamKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "forwarder"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  description      = "shardline forwarder: S3 events to Kinesis stream ${var.stream_name}"
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  environment {
    variables = {
      SHARDLINE_STREAM        = var.stream_name
      SHARDLINE_INPUT_BUCKETS = join(",", var.input_buckets)
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}
