provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "shardline", Deployment = var.name }, var.tags)
  }
}
