variable "lease_table" {
  description = "Name of the KCL lease and checkpoint table (hash key ShardID)."
  type        = string
}

variable "ledger_table" {
  description = "Name of the per-object ledger table (hash key object)."
  type        = string
}

variable "dead_letter_table" {
  description = "Name of the dead-letter table (hash key id)."
  type        = string
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection on all three tables."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key. null: DynamoDB's AWS owned key."
  type        = string
  default     = null
}

variable "ttl_attribute" {
  description = "Number attribute (epoch seconds) after which DynamoDB deletes an item of the ledger and dead-letter tables."
  type        = string
  default     = "expires_at"
}
