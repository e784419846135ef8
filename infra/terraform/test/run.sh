#!/usr/bin/env bash
# Offline test of infra/terraform (make infra-test). Needs terraform, Go, and for the apply stage
# python3 with moto; no network and no AWS account.
#
#   1. terraform fmt -check; the policycheck unit tests (broken fixtures must fail)
#   2. terraform init from the filesystem provider mirror (test/offline.tfrc) and validate
#   3. start moto_server on a free 127.0.0.1 port (test/moto/server.py)
#   4. plan the deployment with test/moto/test.tfvars; policycheck on `terraform show -json` of it
#   5. plan test/broken (a deliberately broken configuration, in parallel with 4); policycheck must
#      FAIL on it with every rule
#   6. apply; assertions over the wire (deploytest: stream shards, table keys, bucket
#      notifications and protections, IAM policies scoped per role, Lambda, ECS, autoscaling)
#   7. plan variants (on-demand stream, CPU scaling, customer KMS key, existing input bucket,
#      explicit subnets): policycheck on each
#   8. a second plan must change nothing but moto's known gaps (test/moto/converged.py)
#   9. teardown from a fresh shell (no image_tag): the pre-destroy apply with the deployed image
#      from `terraform output`, then destroy; deploytest checks that everything is gone; stop
#      moto_server
#
# Environment: SHARDLINE_TF_PLUGIN_MIRROR (default /opt/tf-plugins), SHARDLINE_LAMBDA_ZIP (default
# dist/forwarder-lambda.zip, built with `make lambda-zip` when missing), SHARDLINE_INFRA_KEEP=1 keeps
# the work directory (state, plans, logs), TERRAFORM (default terraform).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tfdir=$(cd "$here/.." && pwd)
root=$(cd "$tfdir/../.." && pwd)
TF=${TERRAFORM:-terraform}
mirror=${SHARDLINE_TF_PLUGIN_MIRROR:-/opt/tf-plugins}

if ! command -v "$TF" >/dev/null 2>&1; then
	echo "infra-test: skipped: terraform not found"
	exit 0
fi
if ! compgen -G "$mirror/registry.terraform.io/hashicorp/aws/*/*" >/dev/null; then
	echo "infra-test: skipped: no hashicorp/aws provider in the filesystem mirror $mirror (set SHARDLINE_TF_PLUGIN_MIRROR)"
	exit 0
fi

# Nothing of the caller's AWS setup may reach the provider or the assertions: the test talks to
# moto only, with fake credentials.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_KINESIS \
	AWS_ENDPOINT_URL_DYNAMODB AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

work=$(mktemp -d "${TMPDIR:-/tmp}/shardline-infra-test.XXXXXX")
moto_pid=""
failed=1
cleanup() {
	if [ -n "$moto_pid" ] && kill -0 "$moto_pid" 2>/dev/null; then
		kill "$moto_pid" 2>/dev/null || true
		wait "$moto_pid" 2>/dev/null || true
	fi
	if [ "$failed" = 1 ] || [ "${SHARDLINE_INFRA_KEEP:-}" = 1 ]; then
		echo "infra-test: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

if [ "$mirror" = /opt/tf-plugins ]; then
	export TF_CLI_CONFIG_FILE="$here/offline.tfrc"
else
	sed "s|/opt/tf-plugins|$mirror|" "$here/offline.tfrc" >"$work/offline.tfrc"
	export TF_CLI_CONFIG_FILE="$work/offline.tfrc"
fi

declare -a summary=()
total_start=$(date +%s)
# step NAME CMD...: runs CMD with its output in $work/logs/NAME.log; prints the log's tail on failure.
mkdir -p "$work/logs"
step() {
	local name=$1
	shift
	local start rc
	start=$(date +%s)
	printf '== %-28s' "$name"
	set +e
	"$@" >"$work/logs/$name.log" 2>&1
	rc=$?
	set -e
	local took=$(($(date +%s) - start))
	if [ $rc -ne 0 ]; then
		echo " FAIL (${took}s, exit $rc)"
		sed 's/\x1b\[[0-9;]*m//g' "$work/logs/$name.log" | tail -n 60
		summary+=("$(printf '%-28s FAIL %4ss' "$name" "$took")")
		print_summary
		exit 1
	fi
	echo " ok (${took}s)"
	summary+=("$(printf '%-28s ok   %4ss' "$name" "$took")")
}
print_summary() {
	echo "-- infra-test steps:"
	printf '   %s\n' "${summary[@]}"
	echo "-- infra-test total: $(($(date +%s) - total_start))s"
}

# copy_module DEST SRC_DIR [EXTRA_FILES...]: a working copy of a root module (.tf files,
# modules/ and templates/), so that .terraform and state never land in the repository.
copy_module() {
	local dest=$1 src=$2
	shift 2
	mkdir -p "$dest"
	cp "$src"/*.tf "$dest"/
	local d
	for d in modules templates; do
		if [ -d "$src/$d" ]; then cp -r "$src/$d" "$dest"/; fi
	done
	for f in "$@"; do cp "$f" "$dest"/; done
}

tf() { "$TF" "$@" -no-color; }

# ---- static checks ------------------------------------------------------------------------------
step fmt "$TF" fmt -check -recursive -diff "$tfdir"
step policycheck-unit-tests go test -count=1 "$root/infra/terraform/policycheck/..."
step build-policycheck go build -o "$work/policycheck" "$root/infra/terraform/policycheck/cmd/policycheck"

copy_module "$work/validate" "$tfdir"
step init-validate-copy tf -chdir="$work/validate" init -backend=false -input=false
step validate tf -chdir="$work/validate" validate

# ---- moto ---------------------------------------------------------------------------------------
if ! python3 -c 'import moto' 2>/dev/null; then
	echo "infra-test: apply stage skipped: python3 cannot import moto (moto_server is not installed)"
	print_summary
	failed=0
	exit 0
fi

zip=${SHARDLINE_LAMBDA_ZIP:-$root/dist/forwarder-lambda.zip}
if [ ! -f "$zip" ]; then
	step lambda-zip make -C "$root" lambda-zip
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
python3 "$here/moto/server.py" -H 127.0.0.1 -p "$port" >"$work/logs/moto.log" 2>&1 &
moto_pid=$!
wait_moto() {
	for _ in $(seq 1 240); do
		if python3 -c "import urllib.request, sys; urllib.request.urlopen('$endpoint/moto-api/', timeout=2)" 2>/dev/null; then
			return 0
		fi
		kill -0 "$moto_pid" 2>/dev/null || { echo "moto exited"; return 1; }
		sleep 0.5
	done
	echo "moto did not answer within 120s"
	return 1
}
step start-moto wait_moto
echo "   moto_server pid $moto_pid on $endpoint"

vars=(-var-file="$here/moto/test.tfvars" -var "moto_endpoint=$endpoint" -var "lambda_zip_path=$zip")
moto_files=("$here/moto/moto.tf" "$here/moto/provider_override.tf")
stack="$work/stack"
copy_module "$stack" "$tfdir" "${moto_files[@]}"
step init tf -chdir="$stack" init -input=false

# policy_plan NAME DIR [ARGS...]: plan in DIR, write DIR/NAME.json, run policycheck on it.
policy_plan() {
	local name=$1 dir=$2
	shift 2
	tf -chdir="$dir" plan -input=false -out="$name.out" "$@" >"$dir/$name.plan.log" ||
		{ tail -n 30 "$dir/$name.plan.log"; return 2; }
	tf -chdir="$dir" show -json "$name.out" >"$dir/$name.json" || return 2
	"$work/policycheck" "$dir/$name.json"
}
# The deliberately broken configuration (test/broken): planned in the background while the real
# plan runs; policycheck must fail on it, naming every broken rule.
broken_dir="$work/broken"
copy_module "$broken_dir" "$here/broken" "${moto_files[@]}"
(
	set +e
	tf -chdir="$broken_dir" init -input=false >/dev/null || { echo 2 >"$work/logs/broken-policycheck.rc"; exit; }
	policy_plan broken "$broken_dir" -var "moto_endpoint=$endpoint"
	echo $? >"$work/logs/broken-policycheck.rc"
) >"$work/logs/broken-policycheck.txt" 2>&1 &
broken_pid=$!

step plan+policycheck policy_plan plan "$stack" "${vars[@]}"

broken_must_fail() {
	wait "$broken_pid" || true
	local rc out
	rc=$(cat "$work/logs/broken-policycheck.rc" 2>/dev/null || echo missing)
	out=$(cat "$work/logs/broken-policycheck.txt")
	echo "$out"
	if [ "$rc" != 1 ]; then
		echo "policycheck exited $rc on the broken plan; want 1 (findings)"
		return 1
	fi
	local missing=0
	for rule in iam-wildcard-action iam-wildcard-resource iam-public-principal iam-admin-policy \
		iam-policy-unknown-at-plan unencrypted public-bucket public-access s3-grant-outside-prefix; do
		if ! grep -q "^$rule " <<<"$out"; then
			echo "missing finding: $rule"
			missing=1
		fi
	done
	# Each of these resources of test/broken breaks its rule in one way of its own (every form
	# of public principal, '?' wildcards): each must be caught, by address.
	local want
	for want in \
		"iam-public-principal aws_iam_role.anyone" \
		"iam-public-principal aws_iam_role.anyone_string" \
		"iam-public-principal aws_iam_role.anyone_aws_list" \
		"iam-public-principal aws_iam_role.any_account_root" \
		"iam-public-principal aws_iam_role.any_service" \
		"iam-public-principal aws_iam_role.any_federated" \
		"iam-public-principal aws_sqs_queue_policy.not_principal" \
		"public-bucket aws_s3_bucket_policy.public" \
		"public-bucket aws_s3_bucket_policy.canonical_user" \
		"iam-wildcard-action aws_iam_role_policy.question_action" \
		"iam-wildcard-resource aws_iam_role_policy.question_bucket" \
		"iam-wildcard-resource aws_iam_role_policy.question_account" \
		"s3-grant-outside-prefix aws_iam_role_policy.outside_prefix"; do
		if ! grep -qF "$want: " <<<"$out"; then
			echo "missing finding: $want"
			missing=1
		fi
	done
	return $missing
}
step broken-plan-must-fail broken_must_fail
sed 's/^/   /' "$work/logs/broken-plan-must-fail.log" | grep -E '^   (iam-|unencrypted|public-|s3-grant-|policycheck:)' | head -n 60

step apply tf -chdir="$stack" apply -input=false -auto-approve plan.out
state_present() {
	local n
	n=$("$TF" -chdir="$stack" state list | wc -l)
	echo "$n resources in state"
	[ "$n" -gt 40 ]
}
step state-present state_present
step outputs sh -c "'$TF' -chdir='$stack' output -json >'$work/outputs.json'"

deploytest() {
	SHARDLINE_INFRA_OUTPUTS="$work/outputs.json" SHARDLINE_INFRA_EXPECT=$1 AWS_ENDPOINT_URL="$endpoint" \
		go test -count=1 -v "$root/infra/terraform/deploytest/"
}
step assertions-after-apply deploytest deployed
grep -E '^(=== RUN|--- |ok|FAIL|PASS)' "$work/logs/assertions-after-apply.log" | grep -E '^--- ' | sed 's/^/   /'

# variant NAME ARGS...: plans the deployment with extra arguments in its own copy (run in the
# background, output in logs/variant-NAME.txt).
variant() {
	local name=$1 dir="$work/variant-$1"
	shift
	copy_module "$dir" "$tfdir" "${moto_files[@]}"
	tf -chdir="$dir" init -input=false >/dev/null && policy_plan "$name" "$dir" "${vars[@]}" "$@"
}
variants() {
	local subnet rc=0 pids=()
	subnet=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["worker_subnet_ids"]["value"][0])' "$work/outputs.json")
	variant on-demand-cpu -var stream_mode=ON_DEMAND -var scaling_metric=cpu \
		>"$work/logs/variant-on-demand-cpu.txt" 2>&1 &
	pids+=($!)
	variant kms-existing-bucket-subnets \
		-var "kms_key_arn=arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" \
		-var create_input_bucket=false -var input_bucket_name=existing-input-bucket \
		-var "subnet_ids=[\"$subnet\"]" -var notify_eventbridge=false -var create_ecr_repository=false \
		-var worker_image=public.ecr.aws/example/shardline:1 \
		>"$work/logs/variant-kms-existing-bucket-subnets.txt" 2>&1 &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	cat "$work"/logs/variant-*.txt
	return $rc
}
step variants+policycheck variants
grep -h '^policycheck:' "$work"/logs/variant-*.txt | sed 's/^/   /'

converged() {
	tf -chdir="$stack" plan -input=false -out=second.out "${vars[@]}" >"$work/logs/second-plan.txt"
	tf -chdir="$stack" show -json second.out >"$stack/second.json"
	python3 "$here/moto/converged.py" "$stack/second.json"
}
step second-plan-converged converged
sed 's/^/   /' "$work/logs/second-plan-converged.log"

# Teardown from a fresh shell (docs/deploy.md, "Tear down"): no image_tag anywhere. A plan without
# an image must stop at the precondition and say how to keep the deployed image; with
# TF_VAR_worker_image from `terraform output` the pre-destroy apply changes no task definition;
# destroy needs no image at all.
grep -v '^image_tag' "$here/moto/test.tfvars" >"$work/fresh-shell.tfvars"
fresh=(-var-file="$work/fresh-shell.tfvars" -var "moto_endpoint=$endpoint" -var "lambda_zip_path=$zip")
fresh_shell_teardown() {
	local out deployed
	if out=$(tf -chdir="$stack" plan -input=false "${fresh[@]}" 2>&1); then
		echo "a plan without any image succeeded; want the image precondition to stop it"
		return 1
	fi
	# (Terraform wraps the message in a box of "│ " lines: unwrap it before matching.)
	if ! sed 's/^│ *//' <<<"$out" | tr '\n' ' ' | tr -s ' ' | grep -qF 'TF_VAR_worker_image=$(terraform output -raw worker_image)'; then
		echo "$out" | tail -n 20
		echo "the precondition does not say how to keep the deployed image"
		return 1
	fi
	echo "without an image: stopped by the precondition, which names TF_VAR_worker_image"
	deployed=$("$TF" -chdir="$stack" output -raw task_definition_arn)
	TF_VAR_worker_image=$("$TF" -chdir="$stack" output -raw worker_image) \
		tf -chdir="$stack" apply -input=false -auto-approve "${fresh[@]}" \
		-var table_deletion_protection=false -var force_destroy_buckets=true || return 1
	if [ "$("$TF" -chdir="$stack" output -raw task_definition_arn)" != "$deployed" ]; then
		echo "the teardown apply registered a new task definition"
		return 1
	fi
	echo "with TF_VAR_worker_image from terraform output: applied, task definition unchanged"
}
step teardown-fresh-shell fresh_shell_teardown
sed 's/^/   /' "$work/logs/teardown-fresh-shell.log" | grep -E '^   (without|with) '
step destroy tf -chdir="$stack" destroy -input=false -auto-approve "${fresh[@]}"
state_empty() {
	local n
	n=$("$TF" -chdir="$stack" state list | wc -l)
	echo "$n resources in state"
	[ "$n" -eq 0 ]
}
step state-empty state_empty
step assertions-after-destroy deploytest destroyed

failed=0
print_summary
echo "infra-test: PASS"
