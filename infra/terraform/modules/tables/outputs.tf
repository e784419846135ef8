output "names" {
  description = "Table names by role: lease, ledger, dead_letter."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "arns" {
  description = "Table ARNs by role: lease, ledger, dead_letter."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "ttl_attribute" {
  description = "TTL attribute of the ledger and dead-letter tables."
  value       = var.ttl_attribute
}
