package deploytest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/infra/terraform/policycheck"
)

func TestStream(t *testing.T) {
	e := setup(t, "deployed")
	kc := kinesis.NewFromConfig(e.cfg)
	out, err := kc.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(e.out.str(t, "stream_name"))})
	if err != nil {
		t.Fatal(err)
	}
	s := out.StreamDescriptionSummary
	if got, want := int(aws.ToInt32(s.OpenShardCount)), e.out.num(t, "shard_count"); got != want {
		t.Errorf("open shards = %d, want %d", got, want)
	}
	if s.StreamStatus != "ACTIVE" {
		t.Errorf("status = %s, want ACTIVE", s.StreamStatus)
	}
	if s.EncryptionType != "KMS" {
		t.Errorf("encryption = %q, want KMS", s.EncryptionType)
	}
	if got := aws.ToString(s.StreamARN); got != e.out.str(t, "stream_arn") {
		t.Errorf("ARN = %s, want the stream_arn output %s", got, e.out.str(t, "stream_arn"))
	}
}

func TestTables(t *testing.T) {
	e := setup(t, "deployed")
	db := dynamodb.NewFromConfig(e.cfg)
	for _, tc := range []struct{ output, key string }{
		{"lease_table", "ShardID"},  // checkpoint.AttrShardID
		{"ledger_table", "object"},  // ledger.AttrObject
		{"dead_letter_table", "id"}, // deadletter.AttrID
	} {
		t.Run(tc.output, func(t *testing.T) {
			name := e.out.str(t, tc.output)
			d, err := db.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			tbl := d.Table
			if len(tbl.KeySchema) != 1 || aws.ToString(tbl.KeySchema[0].AttributeName) != tc.key || tbl.KeySchema[0].KeyType != ddbtypes.KeyTypeHash {
				t.Errorf("key schema = %+v, want hash key %q only", tbl.KeySchema, tc.key)
			}
			for _, a := range tbl.AttributeDefinitions {
				if aws.ToString(a.AttributeName) == tc.key && a.AttributeType != ddbtypes.ScalarAttributeTypeS {
					t.Errorf("%s has type %s, want S", tc.key, a.AttributeType)
				}
			}
			if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
				t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
			}
			b, err := db.DescribeContinuousBackups(e.ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			pitr := b.ContinuousBackupsDescription.PointInTimeRecoveryDescription
			if pitr == nil || pitr.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
				t.Errorf("point-in-time recovery = %+v, want ENABLED", pitr)
			}
		})
	}
}

func TestBuckets(t *testing.T) {
	e := setup(t, "deployed")
	sc := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, output := range []string{"input_bucket", "output_bucket"} {
		t.Run(output, func(t *testing.T) {
			bucket := aws.String(e.out.str(t, output))
			pab, err := sc.GetPublicAccessBlock(e.ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
			if err != nil {
				t.Fatal(err)
			}
			c := pab.PublicAccessBlockConfiguration
			if !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
				t.Errorf("public access block = %+v, want all four on", c)
			}
			enc, err := sc.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
			if err != nil {
				t.Fatal(err)
			}
			if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) == 0 || r[0].ApplyServerSideEncryptionByDefault == nil {
				t.Errorf("no default encryption rule: %+v", r)
			}
			pol, err := sc.GetBucketPolicy(e.ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(aws.ToString(pol.Policy), "aws:SecureTransport") {
				t.Errorf("bucket policy does not deny insecure transport: %s", aws.ToString(pol.Policy))
			}
			own, err := sc.GetBucketOwnershipControls(e.ctx, &s3.GetBucketOwnershipControlsInput{Bucket: bucket})
			if err != nil {
				t.Fatal(err)
			}
			if r := own.OwnershipControls.Rules; len(r) != 1 || r[0].ObjectOwnership != "BucketOwnerEnforced" {
				t.Errorf("ownership controls = %+v, want BucketOwnerEnforced (ACLs off)", r)
			}
		})
	}

	t.Run("notifications", func(t *testing.T) {
		n, err := sc.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(e.out.str(t, "input_bucket"))})
		if err != nil {
			t.Fatal(err)
		}
		var wantEvents []string
		e.out.into(t, "s3_notification_events", &wantEvents)
		if len(wantEvents) > 0 {
			if len(n.LambdaFunctionConfigurations) != 1 {
				t.Fatalf("lambda notifications = %+v, want one", n.LambdaFunctionConfigurations)
			}
			lc := n.LambdaFunctionConfigurations[0]
			if got, want := aws.ToString(lc.LambdaFunctionArn), e.out.str(t, "forwarder_function_arn"); got != want {
				t.Errorf("notification target = %s, want the forwarder %s", got, want)
			}
			var got []string
			for _, ev := range lc.Events {
				got = append(got, string(ev))
			}
			sort.Strings(got)
			sort.Strings(wantEvents)
			if strings.Join(got, ",") != strings.Join(wantEvents, ",") {
				t.Errorf("events = %v, want %v", got, wantEvents)
			}
			for _, must := range []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"} {
				if !contains(got, must) {
					t.Errorf("events %v lack %s", got, must)
				}
			}
		}
		if !e.out.isNull("eventbridge_rule_arn") && n.EventBridgeConfiguration == nil {
			t.Error("EventBridge is configured in Terraform but not enabled on the bucket")
		}
		if len(wantEvents) == 0 && e.out.isNull("eventbridge_rule_arn") {
			t.Error("the input bucket notifies nothing")
		}
	})
}

// role reads a role's trust policy and every identity policy attached to it (inline and managed).
func role(t *testing.T, e *env, name string) (trust string, docs []string) {
	t.Helper()
	var r struct {
		Doc string `xml:"GetRoleResult>Role>AssumeRolePolicyDocument"`
	}
	if err := e.raw.query(e.ctx, "iam", "2010-05-08", "GetRole", url.Values{"RoleName": {name}}, &r); err != nil {
		t.Fatal(err)
	}
	trust, err := policyJSON(r.Doc)
	if err != nil {
		t.Fatal(err)
	}
	var inline struct {
		Names []string `xml:"ListRolePoliciesResult>PolicyNames>member"`
	}
	if err := e.raw.query(e.ctx, "iam", "2010-05-08", "ListRolePolicies", url.Values{"RoleName": {name}}, &inline); err != nil {
		t.Fatal(err)
	}
	for _, p := range inline.Names {
		var rp struct {
			Doc string `xml:"GetRolePolicyResult>PolicyDocument"`
		}
		if err := e.raw.query(e.ctx, "iam", "2010-05-08", "GetRolePolicy", url.Values{"RoleName": {name}, "PolicyName": {p}}, &rp); err != nil {
			t.Fatal(err)
		}
		d, err := policyJSON(rp.Doc)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	var attached struct {
		ARNs []string `xml:"ListAttachedRolePoliciesResult>AttachedPolicies>member>PolicyArn"`
	}
	if err := e.raw.query(e.ctx, "iam", "2010-05-08", "ListAttachedRolePolicies", url.Values{"RoleName": {name}}, &attached); err != nil {
		t.Fatal(err)
	}
	for _, arn := range attached.ARNs {
		docs = append(docs, managedPolicy(t, e, arn))
	}
	return trust, docs
}

func managedPolicy(t *testing.T, e *env, arn string) string {
	t.Helper()
	var p struct {
		Version string `xml:"GetPolicyResult>Policy>DefaultVersionId"`
	}
	if err := e.raw.query(e.ctx, "iam", "2010-05-08", "GetPolicy", url.Values{"PolicyArn": {arn}}, &p); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Doc string `xml:"GetPolicyVersionResult>PolicyVersion>Document"`
	}
	if err := e.raw.query(e.ctx, "iam", "2010-05-08", "GetPolicyVersion", url.Values{"PolicyArn": {arn}, "VersionId": {p.Version}}, &v); err != nil {
		t.Fatal(err)
	}
	d, err := policyJSON(v.Doc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkScope requires the documents to pass policycheck and to grant exactly want: resource ->
// actions (every action granted on a resource must be listed, and every listed pair granted).
func checkScope(t *testing.T, docs []string, want map[string][]string) {
	t.Helper()
	for _, d := range docs {
		probs, err := policycheck.CheckPolicyDocument(d, policycheck.Identity)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probs {
			t.Errorf("%s: %s", p.Rule, p.Message)
		}
	}
	got := grants(t, docs...)
	for res, actions := range got {
		allowed, ok := want[res]
		if !ok {
			t.Errorf("grants %v on %s, which is not this role's resource", keys(actions), res)
			continue
		}
		for a := range actions {
			if !contains(allowed, a) {
				t.Errorf("grants %s on %s; allowed there: %v", a, res, allowed)
			}
		}
	}
	for res, actions := range want {
		for _, a := range actions {
			if !got[res][a] {
				t.Errorf("does not grant %s on %s, which the code needs", a, res)
			}
		}
	}
}

func checkTrust(t *testing.T, trust, service string) {
	t.Helper()
	probs, err := policycheck.CheckPolicyDocument(trust, policycheck.Trust)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("trust policy: %s: %s", p.Rule, p.Message)
	}
	if !strings.Contains(trust, service) {
		t.Errorf("trust policy does not name %s: %s", service, trust)
	}
}

func TestIAMScoped(t *testing.T) {
	e := setup(t, "deployed")
	partition, region, account := "aws", e.region, e.out.str(t, "account_id")
	arn := func(service, res string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition, service, region, account, res)
	}
	stream := e.out.str(t, "stream_arn")
	table := func(output string) string { return arn("dynamodb", "table/"+e.out.str(t, output)) }
	input := "arn:aws:s3:::" + e.out.str(t, "input_bucket")
	output := "arn:aws:s3:::" + e.out.str(t, "output_bucket")
	queue := arn("sqs", path.Base(e.out.str(t, "forwarder_failure_queue_url")))
	// Object grants stop at the prefixes: reads of inputs under the notification prefix, writes,
	// deletes and reads of outputs under output_prefix (issue 14, finding 7).
	inputObjects := input + "/" + e.out.str(t, "input_prefix") + "*"
	outputObjects := output + "/" + e.out.str(t, "output_prefix") + "*"
	if e.out.str(t, "output_prefix") == "" || e.out.str(t, "input_prefix") == "" {
		t.Error("test.tfvars sets no output_prefix or notification_filter_prefix: the prefix scoping goes untested")
	}

	t.Run("forwarder", func(t *testing.T) {
		trust, docs := role(t, e, e.out.str(t, "forwarder_role_name"))
		checkTrust(t, trust, "lambda.amazonaws.com")
		checkScope(t, docs, map[string][]string{
			stream: {"kinesis:PutRecords"},
			arn("logs", "log-group:"+e.out.str(t, "forwarder_log_group")+":*"): {"logs:CreateLogStream", "logs:PutLogEvents"},
			queue: {"sqs:SendMessage"},
		})
	})

	workerScope := map[string][]string{
		stream:                     {"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"},
		table("lease_table"):       {"dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"},
		table("ledger_table"):      {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		table("dead_letter_table"): {"dynamodb:PutItem"},
		inputObjects:               {"s3:GetObject"},
		input:                      {"s3:ListBucket"},
		outputObjects:              {"s3:PutObject", "s3:DeleteObject", "s3:GetObject"},
		output:                     {"s3:ListBucket"},
	}
	t.Run("worker-task", func(t *testing.T) {
		trust, docs := role(t, e, e.out.str(t, "worker_task_role_name"))
		checkTrust(t, trust, "ecs-tasks.amazonaws.com")
		if !strings.Contains(trust, "aws:SourceAccount") {
			t.Errorf("task role trust has no aws:SourceAccount condition: %s", trust)
		}
		scope := map[string][]string{}
		for k, v := range workerScope {
			scope[k] = v
		}
		if !e.out.isNull("worker_metrics_log_group") {
			// The metrics collector sidecar writes embedded-metric-format events to its group.
			scope[arn("logs", "log-group:"+e.out.str(t, "worker_metrics_log_group")+":*")] = []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
		}
		checkScope(t, docs, scope)
	})

	t.Run("worker-execution", func(t *testing.T) {
		trust, docs := role(t, e, e.out.str(t, "worker_execution_role_name"))
		checkTrust(t, trust, "ecs-tasks.amazonaws.com")
		checkScope(t, docs, map[string][]string{
			arn("ecr", "repository/"+path.Base(e.out.str(t, "ecr_repository_url"))): {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
			"*": {"ecr:GetAuthorizationToken"},
			arn("logs", "log-group:"+e.out.str(t, "worker_log_group")+":*"): {"logs:CreateLogStream", "logs:PutLogEvents"},
		})
	})

	if !e.out.isNull("ec2_instance_profile_name") {
		t.Run("worker-ec2", func(t *testing.T) {
			trust, docs := role(t, e, e.out.str(t, "ec2_instance_profile_name"))
			checkTrust(t, trust, "ec2.amazonaws.com")
			checkScope(t, docs, workerScope)
		})
	}

	if !e.out.isNull("operator_policy_arn") {
		t.Run("operator", func(t *testing.T) {
			doc := managedPolicy(t, e, e.out.str(t, "operator_policy_arn"))
			tables := []string{"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"}
			checkScope(t, []string{doc}, map[string][]string{
				stream: {"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
					"kinesis:ListShards", "kinesis:MergeShards", "kinesis:PutRecords", "kinesis:SplitShard", "kinesis:UpdateShardCount"},
				table("lease_table"):       tables,
				table("ledger_table"):      tables,
				table("dead_letter_table"): tables,
				input + "/*":               {"s3:GetObject"},
				outputObjects:              {"s3:GetObject"},
				input:                      {"s3:ListBucket"},
				output:                     {"s3:ListBucket"},
				// replay-failures
				queue: {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
			})
		})
	}
}

func TestForwarder(t *testing.T) {
	e := setup(t, "deployed")
	name := e.out.str(t, "forwarder_function_name")
	var fn struct {
		Configuration struct {
			Runtime       string   `json:"Runtime"`
			Handler       string   `json:"Handler"`
			Architectures []string `json:"Architectures"`
			Role          string   `json:"Role"`
			Timeout       int      `json:"Timeout"`
			Environment   struct {
				Variables map[string]string `json:"Variables"`
			} `json:"Environment"`
		} `json:"Configuration"`
	}
	if err := e.raw.rest(e.ctx, "lambda", "/2015-03-31/functions/"+name, &fn); err != nil {
		t.Fatal(err)
	}
	c := fn.Configuration
	if c.Runtime != "provided.al2023" || c.Handler != "bootstrap" || strings.Join(c.Architectures, ",") != "arm64" {
		t.Errorf("runtime %s handler %s architectures %v, want provided.al2023 bootstrap [arm64]", c.Runtime, c.Handler, c.Architectures)
	}
	if got, want := c.Environment.Variables["SHARDLINE_STREAM"], e.out.str(t, "stream_name"); got != want {
		t.Errorf("SHARDLINE_STREAM = %q, want %q", got, want)
	}
	if !strings.HasSuffix(c.Role, "/"+e.out.str(t, "forwarder_role_name")) {
		t.Errorf("role %s, want %s", c.Role, e.out.str(t, "forwarder_role_name"))
	}
	if c.Timeout <= 30 {
		t.Errorf("timeout %ds does not exceed the forwarder's 30 s PutRecords deadline", c.Timeout)
	}

	var inv struct {
		MaximumRetryAttempts int `json:"MaximumRetryAttempts"`
		DestinationConfig    struct {
			OnFailure struct {
				Destination string `json:"Destination"`
			} `json:"OnFailure"`
		} `json:"DestinationConfig"`
	}
	if err := e.raw.rest(e.ctx, "lambda", "/2019-09-25/functions/"+name+"/event-invoke-config", &inv); err != nil {
		t.Fatal(err)
	}
	if inv.MaximumRetryAttempts != 2 || !strings.HasSuffix(inv.DestinationConfig.OnFailure.Destination, ":"+path.Base(e.out.str(t, "forwarder_failure_queue_url"))) {
		t.Errorf("event invoke config = %+v, want 2 retries then the failure queue", inv)
	}

	var pol struct {
		Policy string `json:"Policy"`
	}
	if err := e.raw.rest(e.ctx, "lambda", "/2015-03-31/functions/"+name+"/policy", &pol); err != nil {
		t.Fatal(err)
	}
	input := "arn:aws:s3:::" + e.out.str(t, "input_bucket")
	if !strings.Contains(pol.Policy, "s3.amazonaws.com") || !strings.Contains(pol.Policy, input) {
		t.Errorf("function policy does not let the input bucket (only) invoke it: %s", pol.Policy)
	}
	probs, err := policycheck.CheckPolicyDocument(pol.Policy, policycheck.Resource)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("function policy: %s: %s", p.Rule, p.Message)
	}
}

type kv struct{ Name, Value string }

func TestWorkers(t *testing.T) {
	e := setup(t, "deployed")
	cluster, service := e.out.str(t, "ecs_cluster_name"), e.out.str(t, "ecs_service_name")
	var svcs struct {
		Services []struct {
			ServiceName    string `json:"serviceName"`
			DesiredCount   int    `json:"desiredCount"`
			LaunchType     string `json:"launchType"`
			TaskDefinition string `json:"taskDefinition"`
		} `json:"services"`
	}
	if err := e.raw.jsonRPC(e.ctx, "ecs", "AmazonEC2ContainerServiceV20141113.DescribeServices",
		map[string]any{"cluster": cluster, "services": []string{service}}, &svcs); err != nil {
		t.Fatal(err)
	}
	if len(svcs.Services) != 1 {
		t.Fatalf("services = %+v, want %s", svcs.Services, service)
	}
	svc := svcs.Services[0]
	if svc.LaunchType != "FARGATE" || svc.DesiredCount < 1 {
		t.Errorf("service = %+v, want FARGATE with at least one task", svc)
	}
	if svc.TaskDefinition != e.out.str(t, "task_definition_arn") {
		t.Errorf("service runs %s, want %s", svc.TaskDefinition, e.out.str(t, "task_definition_arn"))
	}

	var td struct {
		TaskDefinition struct {
			RuntimePlatform struct {
				CPUArchitecture string `json:"cpuArchitecture"`
			} `json:"runtimePlatform"`
			ContainerDefinitions []struct {
				Name                   string   `json:"name"`
				Essential              bool     `json:"essential"`
				Image                  string   `json:"image"`
				Command                []string `json:"command"`
				StopTimeout            int      `json:"stopTimeout"`
				ReadonlyRootFilesystem bool     `json:"readonlyRootFilesystem"`
				Environment            []kv     `json:"environment"`
				HealthCheck            struct {
					Command []string `json:"command"`
				} `json:"healthCheck"`
				LogConfiguration struct {
					LogDriver string            `json:"logDriver"`
					Options   map[string]string `json:"options"`
				} `json:"logConfiguration"`
			} `json:"containerDefinitions"`
		} `json:"taskDefinition"`
	}
	if err := e.raw.jsonRPC(e.ctx, "ecs", "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
		map[string]any{"taskDefinition": svc.TaskDefinition}, &td); err != nil {
		t.Fatal(err)
	}
	containers := map[string]int{}
	for i, c := range td.TaskDefinition.ContainerDefinitions {
		containers[c.Name] = i
	}
	wi, ok := containers["worker"]
	if !ok {
		t.Fatalf("containers = %+v, want one named worker", td.TaskDefinition.ContainerDefinitions)
	}
	c := td.TaskDefinition.ContainerDefinitions[wi]
	if !c.Essential {
		t.Error("the worker container is not essential")
	}
	want := 1
	if !e.out.isNull("worker_metrics_log_group") {
		want++
	}
	if len(containers) != want {
		t.Errorf("%d containers %v, want %d (the worker, and the metrics collector when worker_metrics = cloudwatch)", len(containers), containers, want)
	}
	if ci, ok := containers["metrics-collector"]; ok {
		checkCollector(t, e, td.TaskDefinition.ContainerDefinitions[ci].Essential, td.TaskDefinition.ContainerDefinitions[ci].Environment, td.TaskDefinition.ContainerDefinitions[ci].LogConfiguration.Options)
	}
	if got, want := c.Image, e.out.str(t, "worker_image"); got != want {
		t.Errorf("image %s, want %s", got, want)
	}
	if strings.Join(c.Command, " ") != "work" {
		t.Errorf("command %v, want [work]", c.Command)
	}
	hc := strings.Join(c.HealthCheck.Command, " ")
	if !strings.HasPrefix(hc, "CMD /usr/local/bin/shardline healthcheck --url http://127.0.0.1:") || !strings.Contains(hc, "/healthz") {
		t.Errorf("health check %q, want the shardline binary probing /healthz (the image has no shell)", hc)
	}
	stop := e.out.num(t, "stop_timeout_seconds")
	if c.StopTimeout != stop {
		t.Errorf("stopTimeout %d, want %d", c.StopTimeout, stop)
	}
	env := map[string]string{}
	for _, v := range c.Environment {
		env[v.Name] = v.Value
	}
	if got, want := env["SHARDLINE_STOP_TIMEOUT"], fmt.Sprintf("%ds", stop-5); got != want {
		t.Errorf("SHARDLINE_STOP_TIMEOUT = %q, want %q (ECS stopTimeout minus 5 s)", got, want)
	}
	var wantEnv map[string]string
	e.out.into(t, "worker_environment", &wantEnv)
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("container %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"SHARDLINE_OUTPUT_BUCKET", "SHARDLINE_STREAM", "SHARDLINE_LEASE_TABLE", "SHARDLINE_LEDGER_TABLE", "SHARDLINE_DEAD_LETTER_TABLE"} {
		if env[k] == "" {
			t.Errorf("container lacks %s (shardline work needs it)", k)
		}
	}
	if c.LogConfiguration.LogDriver != "awslogs" || c.LogConfiguration.Options["awslogs-group"] != e.out.str(t, "worker_log_group") {
		t.Errorf("log configuration %+v, want awslogs to %s", c.LogConfiguration, e.out.str(t, "worker_log_group"))
	}
	if !c.ReadonlyRootFilesystem {
		t.Error("root filesystem is writable")
	}

	var targets struct {
		ScalableTargets []struct {
			ResourceID  string `json:"ResourceId"`
			MinCapacity int    `json:"MinCapacity"`
			MaxCapacity int    `json:"MaxCapacity"`
		} `json:"ScalableTargets"`
	}
	resourceID := "service/" + cluster + "/" + service
	if err := e.raw.jsonRPC(e.ctx, "application-autoscaling", "AnyScaleFrontendService.DescribeScalableTargets",
		map[string]any{"ServiceNamespace": "ecs", "ResourceIds": []string{resourceID}}, &targets); err != nil {
		t.Fatal(err)
	}
	if len(targets.ScalableTargets) != 1 || targets.ScalableTargets[0].MaxCapacity != e.out.num(t, "worker_max_count") {
		t.Errorf("scalable targets = %+v, want one with max %d", targets.ScalableTargets, e.out.num(t, "worker_max_count"))
	}
	var policies struct {
		ScalingPolicies []struct {
			PolicyName string `json:"PolicyName"`
			PolicyType string `json:"PolicyType"`
			PolicyARN  string `json:"PolicyARN"`
		} `json:"ScalingPolicies"`
	}
	if err := e.raw.jsonRPC(e.ctx, "application-autoscaling", "AnyScaleFrontendService.DescribeScalingPolicies",
		map[string]any{"ServiceNamespace": "ecs", "ResourceId": resourceID}, &policies); err != nil {
		t.Fatal(err)
	}
	if len(policies.ScalingPolicies) == 0 {
		t.Fatal("no scaling policy")
	}
	var alarms struct {
		Alarms []struct {
			Name    string   `xml:"AlarmName"`
			Metric  string   `xml:"MetricName"`
			Actions []string `xml:"AlarmActions>member"`
		} `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	}
	if err := e.raw.query(e.ctx, "monitoring", "2010-08-01", "DescribeAlarms", nil, &alarms); err != nil {
		t.Fatal(err)
	}
	for _, p := range policies.ScalingPolicies {
		if p.PolicyType != "StepScaling" {
			continue // target tracking creates its own alarms
		}
		found := false
		for _, a := range alarms.Alarms {
			if contains(a.Actions, p.PolicyARN) && a.Metric == "GetRecords.IteratorAgeMilliseconds" {
				found = true
			}
		}
		if !found {
			t.Errorf("no iterator-age alarm triggers scaling policy %s (alarms: %+v)", p.PolicyName, alarms.Alarms)
		}
	}
}

// TestOutputsAreJSON guards the outputs docs/deploy.md reads with `terraform output -raw`.
func TestOutputsAreJSON(t *testing.T) {
	e := setup(t, "deployed")
	for _, name := range []string{"region", "input_bucket", "output_bucket", "stream_name", "ecr_repository_url",
		"ecs_cluster_name", "ecs_service_name", "worker_log_group", "forwarder_function_name", "forwarder_log_group",
		"lease_table", "ledger_table", "dead_letter_table", "task_definition_family"} {
		if s := e.out.str(t, name); s == "" {
			t.Errorf("output %s is empty", name)
		}
	}
	var m map[string]string
	e.out.into(t, "worker_environment", &m)
	if _, err := json.Marshal(m); err != nil || len(m) == 0 {
		t.Errorf("worker_environment = %v", m)
	}
}
