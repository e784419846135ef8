# A managed policy for the people (or CI jobs) who run shardline's operations commands against this
# deployment: `status` (leases, checkpoints, lag), `reshard` (split, merge, UpdateShardCount),
# `reprocess` (reset checkpoints, bump the epoch) and `redrive` (dead letters back into the
# stream), `reconcile` (compare the buckets; --fix puts repair events on the stream), `ledger reset`
# (a conditional DeleteItem on one ledger entry, then one event on the stream), `replay-failures`
# (the forwarder's failure queue back into the stream). Attach it to
# their role; it grants nothing outside this deployment's stream and tables (and read access to
# its buckets).

data "aws_iam_policy_document" "operator" {
  statement {
    sid = "Stream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
      "kinesis:MergeShards",
      "kinesis:PutRecords",
      "kinesis:SplitShard",
      "kinesis:UpdateShardCount",
    ]
    resources = [local.stream_arn]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = values(local.table_arns)
  }

  # `replay-failures`: receive the forwarder's failed invocations, put them back into the stream
  # (PutRecords above), delete each message only after that.
  statement {
    sid = "FailureQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    # built from the name (as the module names the queue), so the policy is known at plan time
    resources = ["${local.arn_prefix}:sqs:${local.region}:${local.account}:${local.forwarder_name}-failures"]
  }

  statement {
    # reconcile lists and heads outputs under output_prefix only.
    sid       = "ReadObjects"
    actions   = ["s3:GetObject"]
    resources = ["${local.input_bucket_arn}/*", "${local.output_bucket_arn}/${var.output_prefix}*"]
  }

  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.input_bucket_arn, local.output_bucket_arn]
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

resource "aws_iam_policy" "operator" {
  count = var.create_operator_policy ? 1 : 0

  name        = "${var.name}-operator"
  description = "shardline status, reshard, reprocess, redrive and reconcile on ${local.stream_name} and its tables"
  policy      = data.aws_iam_policy_document.operator.json
}
