output "topic_arn" {
  description = "SNS topic the alarms notify (null without alarms)."
  value       = local.topic_arn
}

output "alarm_names" {
  description = "Names of the alarms (without the scaling alarms)."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.this : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.table_throttled : a.alarm_name],
  )
}

output "dashboard_name" {
  description = "CloudWatch dashboard (null unless create_dashboard)."
  value       = var.create_dashboard ? aws_cloudwatch_dashboard.this[0].dashboard_name : null
}

output "topic_key_arn" {
  description = "KMS key created for the topic (null when kms_key_arn or topic_arn is given)."
  value       = local.create_key ? aws_kms_key.topic[0].arn : null
}
