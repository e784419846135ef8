# The deployment test/run.sh applies to moto_server: every optional path switched on that moto can
# hold, so that apply, the assertions (deploytest) and destroy cover them.
name                        = "sltest"
region                      = "us-east-1"
shard_count                 = 3
stream_retention_hours      = 48
table_deletion_protection   = false
force_destroy_buckets       = true
notify_lambda               = true
notify_eventbridge          = true
image_tag                   = "test"
scaling_metric              = "iterator_age"
worker_min_count            = 1
stop_timeout_seconds        = 90
metrics_ingress_cidrs       = ["10.0.0.0/8"]
create_operator_policy      = true
create_ec2_instance_profile = true
output_prefix               = "gray/"
notification_filter_prefix  = "photos/"
# Alarms, their topic (with a key of its own) and both kinds of subscription, the dashboard, the
# metrics sidecar (worker_metrics defaults to cloudwatch), reserved concurrency (derived: 10 per
# shard) and table TTL are on by default; stated here so that the test says what it covers.
create_alarms         = true
create_dashboard      = true
worker_metrics        = "cloudwatch"
alarm_email_addresses = ["oncall@example.com"]
alarm_https_endpoints = ["https://alerts.example.com/shardline"]
