output "s3_events" {
  description = "S3 event types sent to the forwarder (empty when notify_lambda is false)."
  value       = var.notify_lambda ? local.s3_events : []
}

output "eventbridge_rule_arn" {
  description = "EventBridge rule ARN, or null."
  value       = var.notify_eventbridge ? aws_cloudwatch_event_rule.s3[0].arn : null
}
