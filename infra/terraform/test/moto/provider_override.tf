# Terraform merges *_override.tf files into the configuration: this replaces the provider's
# credentials and endpoints with moto_server's while keeping the module's own provider block
# (region, default_tags). Copied in by test/run.sh only.

provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    appautoscaling = var.moto_endpoint
    cloudwatch     = var.moto_endpoint
    dynamodb       = var.moto_endpoint
    ec2            = var.moto_endpoint
    ecr            = var.moto_endpoint
    ecs            = var.moto_endpoint
    events         = var.moto_endpoint
    iam            = var.moto_endpoint
    kinesis        = var.moto_endpoint
    kms            = var.moto_endpoint
    lambda         = var.moto_endpoint
    logs           = var.moto_endpoint
    s3             = var.moto_endpoint
    sns            = var.moto_endpoint
    sqs            = var.moto_endpoint
    sts            = var.moto_endpoint
  }
}
