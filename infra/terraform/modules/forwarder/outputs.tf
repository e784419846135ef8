output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "failure_queue_url" {
  description = "SQS queue receiving invocations that failed after Lambda's retries (and EventBridge deliveries that failed)."
  value       = aws_sqs_queue.failures.id
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = aws_sqs_queue.failures.arn
}

output "failure_queue_name" {
  description = "Name of the failure queue."
  value       = aws_sqs_queue.failures.name
}

output "reserved_concurrency" {
  description = "Reserved concurrency of the function (-1: unreserved)."
  value       = aws_lambda_function.this.reserved_concurrent_executions
}
