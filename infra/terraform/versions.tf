terraform {
  # 1.5: check blocks; tested with 1.11.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100.0. 6.x changed region handling; not yet tested.
      version = ">= 5.70.0, < 6.0.0"
    }
  }
}
