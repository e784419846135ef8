// Package deploytest holds the assertions `make infra-test` runs over the wire against a
// deployment of infra/terraform applied to moto_server: the stream has the configured shard count,
// the tables have the key schemas the code expects, the input bucket notifies the forwarder, the
// buckets are private and encrypted, every IAM role is scoped to its own resources, and the Lambda
// function, ECS task definition, service and autoscaling are configured as documented. After
// `terraform destroy` the same package checks that nothing is left.
//
// The tests skip unless SHARDLINE_INFRA_OUTPUTS names the JSON of `terraform output -json`, so
// `go test ./...` passes without a deployment. infra/terraform/test/run.sh sets it, with
// SHARDLINE_INFRA_EXPECT (deployed or destroyed) and AWS_ENDPOINT_URL (moto_server).
package deploytest
