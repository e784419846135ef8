# shardline workers on ECS Fargate: one service of `shardline work` tasks. Each task holds KCL
# leases on some shards; more tasks than open shards only stand by. Rolling deploys start new tasks
# first (maximum 200%), then stop old ones with SIGTERM: the worker stops fetching, finishes or
# abandons in-flight records, checkpoints, releases its leases and exits before stopTimeout.

locals {
  log_group_name = "/ecs/${var.name}-worker"
  container_name = "worker"
  binary         = "/usr/local/bin/shardline"

  environment = merge(
    {
      SHARDLINE_REGION            = var.region
      SHARDLINE_STREAM            = var.stream_name
      SHARDLINE_LEASE_TABLE       = var.lease_table
      SHARDLINE_LEDGER_TABLE      = var.ledger_table
      SHARDLINE_DEAD_LETTER_TABLE = var.dead_letter_table
      SHARDLINE_OUTPUT_BUCKET     = var.output_bucket
      SHARDLINE_METRICS_ADDR      = ":${var.metrics_port}"
      SHARDLINE_LOG_FORMAT        = "json"
      # Drain within the ECS stop timeout, with 5 s left to exit before SIGKILL.
      SHARDLINE_STOP_TIMEOUT = "${var.stop_timeout_seconds - 5}s"
    },
    var.output_prefix == "" ? {} : { SHARDLINE_OUTPUT_PREFIX = var.output_prefix },
    var.environment,
  )

  worker_container = {
    name                   = local.container_name
    image                  = var.image
    essential              = true
    command                = ["work"]
    readonlyRootFilesystem = true
    stopTimeout            = var.stop_timeout_seconds
    environment            = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    portMappings = [{
      containerPort = var.metrics_port
      protocol      = "tcp"
    }]
    # The image has no shell: the health check runs the shardline binary itself.
    healthCheck = {
      command     = ["CMD", local.binary, "healthcheck", "--url", "http://127.0.0.1:${var.metrics_port}/healthz", "--timeout", "3s"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "worker"
        mode                  = "non-blocking"
        max-buffer-size       = "4m"
      }
    }
  }

  # worker_metrics = "cloudwatch": the collector sidecar (metrics.tf). Not essential: a collector
  # that dies costs metrics (and the alarms that read them go to INSUFFICIENT_DATA), never work.
  collector_container = {
    name        = local.collector_name
    image       = var.metrics_collector_image
    essential   = false
    environment = [{ name = "AOT_CONFIG_CONTENT", value = local.collector_config }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "collector"
        mode                  = "non-blocking"
        max-buffer-size       = "1m"
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
}

resource "aws_security_group" "this" {
  name        = "${var.name}-worker"
  description = "shardline workers: HTTPS out to the AWS APIs; metrics in from the listed CIDRs only"
  vpc_id      = var.vpc_id

  egress {
    description = "AWS APIs (Kinesis, DynamoDB, S3, ECR, CloudWatch Logs)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  dynamic "ingress" {
    for_each = length(var.metrics_ingress_cidrs) == 0 ? [] : [1]
    content {
      description = "Prometheus scrapes /metrics"
      from_port   = var.metrics_port
      to_port     = var.metrics_port
      protocol    = "tcp"
      cidr_blocks = var.metrics_ingress_cidrs
    }
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.architecture
  }

  container_definitions = jsonencode(concat(
    [local.worker_container],
    var.metrics_to_cloudwatch ? [local.collector_container] : [],
  ))

  lifecycle {
    precondition {
      condition     = var.image != null
      error_message = "No worker image: set image_tag (the tag pushed to the ECR repository) or worker_image. To keep the image that is deployed (e.g. before a teardown, from a fresh shell): export TF_VAR_worker_image=$(terraform output -raw worker_image)."
    }
  }
}

resource "aws_ecs_service" "this" {
  name                               = "${var.name}-worker"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = var.assign_public_ip
  }

  lifecycle {
    # Autoscaling owns the task count after creation.
    ignore_changes = [desired_count]
  }
}
