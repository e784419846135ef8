output "name" {
  description = "Stream name."
  value       = aws_kinesis_stream.this.name
}

output "arn" {
  description = "Stream ARN."
  value       = aws_kinesis_stream.this.arn
}
