# Roles of the worker tasks. The execution role lets ECS pull the image and ship logs; the task role
# (through the worker policy, also usable by EC2 instance roles) lets shardline read the stream,
# use its three tables, read the input bucket and write (and check) the output bucket. Nothing
# else. The actions are those the code calls: KCL + checkpoint/ on the lease table, internal/ledger
# on the ledger (BatchGetItem for batched reads), internal/deadletter's PutItem, and
# internal/grayscale's GetObject/HeadObject, PutObject and DeleteObject.

locals {
  log_group_arn         = "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:${local.log_group_name}"
  metrics_log_group_arn = "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:${local.metrics_log_group}"
}

data "aws_iam_policy_document" "execution_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "task_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Only tasks of this account and region (the confused-deputy guard the ECS docs recommend
    # for task roles).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${var.partition}:ecs:${var.region}:${var.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-worker-execution"
  description        = "ECS pulls the shardline worker image and writes its logs"
  assume_role_policy = data.aws_iam_policy_document.execution_assume.json
}

data "aws_iam_policy_document" "execution" {
  dynamic "statement" {
    for_each = var.ecr_repository_arn == null ? [] : [var.ecr_repository_arn]
    content {
      sid       = "PullImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.ecr_repository_arn == null ? [] : [1]
    content {
      # GetAuthorizationToken has no resource-level permissions: "*" is the only valid resource.
      sid       = "RegistryLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid = "ReadStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [var.stream_arn]
  }

  statement {
    sid = "Leases"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = [var.lease_table_arn]
  }

  statement {
    sid       = "Ledger"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [var.ledger_table_arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["dynamodb:PutItem"]
    resources = [var.dead_letter_table_arn]
  }

  statement {
    # Only keys under the notification prefix reach the stream, so only those are read.
    sid       = "ReadInput"
    actions   = ["s3:GetObject"]
    resources = ["${var.input_bucket_arn}/${var.input_prefix}*"]
  }

  statement {
    # Without ListBucket a missing input answers 403 instead of 404, and the worker would
    # dead-letter it as access_denied instead of removing the output.
    sid       = "ListInput"
    actions   = ["s3:ListBucket"]
    resources = [var.input_bucket_arn]
  }

  statement {
    # GetObject covers the HeadObject with which the worker verifies an output after a lost
    # ledger race (grayscale.Verify). Outputs are output_prefix + input key, so nothing outside
    # the prefix is written, deleted or read (policycheck's s3-grant-outside-prefix holds it).
    sid       = "WriteOutput"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:GetObject"]
    resources = ["${var.output_bucket_arn}/${var.output_prefix}*"]
  }

  statement {
    # As for the input: a missing output must answer 404, not 403, to Verify.
    sid       = "ListOutput"
    actions   = ["s3:ListBucket"]
    resources = [var.output_bucket_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "worker" {
  name        = "${var.name}-worker"
  description = "shardline worker: read ${var.stream_name}, use its tables, read the input bucket, write the output bucket"
  policy      = data.aws_iam_policy_document.worker.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-worker-task"
  description        = "shardline worker tasks"
  assume_role_policy = data.aws_iam_policy_document.task_assume.json
}

resource "aws_iam_role_policy_attachment" "task" {
  role       = aws_iam_role.task.name
  policy_arn = aws_iam_policy.worker.arn
}
