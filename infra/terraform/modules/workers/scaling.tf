# Autoscaling of the worker service between min_count and max_count tasks, on the stream's
# iterator age (how far behind the newest record the slowest shard reader is) or on CPU.

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.scaling_metric == "cpu" ? 1 : 0

  name               = "${var.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "lag_out" {
  count = var.scaling_metric == "iterator_age" ? 1 : 0

  name               = "${var.name}-worker-lag-out"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 120
    metric_aggregation_type = "Maximum"

    # Bounds are relative to the alarm threshold: +1 task just above it, +2 at 5x.
    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = var.iterator_age_scale_out_ms * 4
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = var.iterator_age_scale_out_ms * 4
      scaling_adjustment          = 2
    }
  }
}

resource "aws_appautoscaling_policy" "lag_in" {
  count = var.scaling_metric == "iterator_age" ? 1 : 0

  name               = "${var.name}-worker-lag-in"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 300
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = -1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lag_high" {
  count = var.scaling_metric == "iterator_age" ? 1 : 0

  alarm_name          = "${var.name}-iterator-age-high"
  alarm_description   = "shardline workers fall behind ${var.stream_name}: add a worker"
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = var.stream_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_scale_out_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.lag_out[0].arn]
}

resource "aws_cloudwatch_metric_alarm" "lag_low" {
  count = var.scaling_metric == "iterator_age" ? 1 : 0

  alarm_name          = "${var.name}-iterator-age-low"
  alarm_description   = "shardline workers are caught up on ${var.stream_name}: remove a worker"
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = var.stream_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 15
  comparison_operator = "LessThanThreshold"
  threshold           = var.iterator_age_scale_in_ms
  treat_missing_data  = "ignore"
  alarm_actions       = [aws_appautoscaling_policy.lag_in[0].arn]
}
