output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "task_definition_family" {
  description = "Task definition family."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "Current task definition revision."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the worker container in the task definition."
  value       = local.container_name
}

output "log_group_name" {
  description = "CloudWatch log group of the workers."
  value       = aws_cloudwatch_log_group.this.name
}

output "security_group_id" {
  description = "Security group of the worker tasks."
  value       = aws_security_group.this.id
}

output "execution_role_name" {
  description = "Task execution role name."
  value       = aws_iam_role.execution.name
}

output "task_role_name" {
  description = "Task role name."
  value       = aws_iam_role.task.name
}

output "task_role_arn" {
  description = "Task role ARN."
  value       = aws_iam_role.task.arn
}

output "worker_policy_arn" {
  description = "Managed policy with the worker permissions (attached to the task role)."
  value       = aws_iam_policy.worker.arn
}

output "environment" {
  description = "Environment of the worker container."
  value       = local.environment
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the worker metrics (metrics_to_cloudwatch)."
  value       = local.metrics_namespace
}

output "metrics_log_group_name" {
  description = "Log group of the embedded-metric-format events; null without metrics_to_cloudwatch."
  value       = var.metrics_to_cloudwatch ? aws_cloudwatch_log_group.metrics[0].name : null
}

output "collector_container_name" {
  description = "Name of the metrics collector sidecar; null without metrics_to_cloudwatch."
  value       = var.metrics_to_cloudwatch ? local.collector_name : null
}

output "service_resource_id" {
  description = "Application Auto Scaling resource id of the service."
  value       = aws_appautoscaling_target.this.resource_id
}
