# The three DynamoDB tables of a shardline deployment. Key schemas are fixed by the code:
# leases "ShardID" (checkpoint.AttrShardID), ledger "object" (ledger.AttrObject), dead letters
# "id" (deadletter.AttrID), all strings. On-demand capacity, point-in-time recovery. DynamoDB
# always encrypts at rest; kms_key_arn switches from the AWS owned key to a customer key.
#
# Time to live: DynamoDB deletes an item of the ledger or dead-letter table some time (typically
# within a few days) after the epoch second in its ttl_attribute ("expires_at", a Number) has
# passed. Items without the attribute never expire. The workers write it on ledger tombstones (the
# entry of a deleted input) and on dead letters; live ledger entries carry none. Leases never
# expire: the lease table has no TTL.

locals {
  tables = {
    lease       = { name = var.lease_table, hash_key = "ShardID", ttl = false }
    ledger      = { name = var.ledger_table, hash_key = "object", ttl = true }
    dead_letter = { name = var.dead_letter_table, hash_key = "id", ttl = true }
  }
}

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name                        = each.value.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  dynamic "ttl" {
    for_each = each.value.ttl ? [var.ttl_attribute] : []
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  dynamic "server_side_encryption" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      enabled     = true
      kms_key_arn = server_side_encryption.value
    }
  }
}
