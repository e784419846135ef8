#!/usr/bin/env bash
# stack.sh - the shardline local stack: MinIO (S3), kinesalite (Kinesis) and dynalite (DynamoDB)
# on 127.0.0.1, installed into $REPO/.local and run with pid files and logs; and, on request,
# moto_server (all three services on one port) as a second, independent implementation.
#
#   stack.sh install      install kinesalite+dynalite (npm ci) and MinIO (go install); idempotent
#   stack.sh up [SVC..]   install if needed, start, wait until healthy; no-op if running.
#                         SVC: minio kinesalite dynalite moto; default the first three
#   stack.sh down [SVC..] stop (TERM, deadline, KILL); ok if nothing runs; default: every service
#   stack.sh status       one line per service: name, running/stopped, port, pid
#   stack.sh env [moto]   `export NAME=value` lines for a shell (eval) or a Makefile (include);
#                         with moto: S3, Kinesis and DynamoDB all at moto_server
#
# See docs/local-stack.md for ports, variables and why these servers were chosen.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$script_dir/../.." && pwd))
LOCAL="$REPO/.local"
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/log"
DATA_DIR="$LOCAL/data"
BIN_DIR="$LOCAL/bin"
NODE_DIR="$LOCAL/node"

MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
# MinIO webhook target ID. Buckets route events to it with QueueArn $WEBHOOK_ARN; the ID part is
# case-sensitive, and MinIO echoes the ARN back with its region filled in (arn:minio:sqs:us-east-1:…).
WEBHOOK_ID="SHARDLINE"
WEBHOOK_ARN="arn:minio:sqs::$WEBHOOK_ID:webhook"

HOST=127.0.0.1
S3_PORT=${SHARDLINE_S3_PORT:-9000}
S3_CONSOLE_PORT=${SHARDLINE_S3_CONSOLE_PORT:-9001}
KINESIS_PORT=${SHARDLINE_KINESIS_PORT:-4567}
DYNAMODB_PORT=${SHARDLINE_DYNAMODB_PORT:-4568}
MOTO_PORT=${SHARDLINE_MOTO_PORT:-4569}
FORWARD_PORT=${SHARDLINE_FORWARD_PORT:-8085}
WEBHOOK_URL=${SHARDLINE_WEBHOOK_URL:-http://$HOST:$FORWARD_PORT/webhook}
# The token MinIO's webhook target sends (Authorization: Bearer …) and `forward` requires: the
# caller's SHARDLINE_WEBHOOK_TOKEN, else a random one made when MinIO starts. It is kept in
# $RUN_DIR/minio.webhook-token and `env` exports it as SHARDLINE_WEBHOOK_TOKEN.
WEBHOOK_TOKEN=${SHARDLINE_WEBHOOK_TOKEN:-}
REGION=us-east-1
# Local-only credentials: MinIO's root user and what every client signs with. Deliberately not
# taken from AWS_ACCESS_KEY_ID so real AWS credentials never become a local server's root user.
ACCESS_KEY=${SHARDLINE_LOCAL_ACCESS_KEY_ID:-shardline}
SECRET_KEY=${SHARDLINE_LOCAL_SECRET_ACCESS_KEY:-shardline-local-secret}
START_TIMEOUT=${SHARDLINE_STACK_TIMEOUT:-30} # seconds per service
STOP_TIMEOUT=10                              # seconds before KILL

SERVICES=(minio kinesalite dynalite) # the local stack: what `up` starts without arguments
ALL_SERVICES=("${SERVICES[@]}" moto)  # what `down` stops without arguments and `status` shows

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# port_of NAME: the port a running service was started on, else the configured one.
port_of() {
	if [[ -f "$RUN_DIR/$1.port" ]] && pid_of "$1" >/dev/null; then
		cat "$RUN_DIR/$1.port"
		return
	fi
	case $1 in
	minio) echo "$S3_PORT" ;;
	kinesalite) echo "$KINESIS_PORT" ;;
	dynalite) echo "$DYNAMODB_PORT" ;;
	moto) echo "$MOTO_PORT" ;;
	esac
}

# services NAME... -- DEFAULT...: the names given (each checked), or DEFAULT... when none; one a line.
services() {
	local -a names=()
	while [[ $1 != -- ]]; do
		names+=("$1")
		shift
	done
	shift
	[[ ${#names[@]} -gt 0 ]] || names=("$@")
	local name known
	for name in "${names[@]}"; do
		for known in "${ALL_SERVICES[@]}"; do
			[[ $name == "$known" ]] && continue 2
		done
		die "unknown service '$name' (known: ${ALL_SERVICES[*]})"
	done
	printf '%s\n' "${names[@]}"
}

# ---------------------------------------------------------------------------------------- install

npm_stamp() { cat "$script_dir/package.json" "$script_dir/package-lock.json" | sha256sum | cut -d' ' -f1; }

npm_installed() {
	[[ -f "$NODE_DIR/.installed" && "$(cat "$NODE_DIR/.installed")" == "$(npm_stamp)" ]] &&
		[[ -f "$NODE_DIR/node_modules/kinesalite/index.js" && -f "$NODE_DIR/node_modules/dynalite/cli.js" ]]
}

minio_installed() {
	[[ -x "$BIN_DIR/minio" && -f "$BIN_DIR/minio.version" && "$(cat "$BIN_DIR/minio.version")" == "$MINIO_VERSION" ]]
}

install_npm() {
	if npm_installed; then
		log "kinesalite+dynalite already installed in $NODE_DIR"
		return
	fi
	command -v npm >/dev/null || die "npm not found (need Node.js >= 20)"
	log "installing kinesalite+dynalite into $NODE_DIR (npm ci)"
	mkdir -p "$NODE_DIR"
	rm -f "$NODE_DIR/.installed"
	cp "$script_dir/package.json" "$script_dir/package-lock.json" "$NODE_DIR/"
	# --ignore-scripts: the only install scripts are node-gyp-build for the LevelDB bindings, which
	# ship prebuilt and are not used by the in-memory stores anyway.
	npm ci --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
	npm_stamp >"$NODE_DIR/.installed"
}

install_minio() {
	if minio_installed; then
		log "minio $MINIO_VERSION already installed in $BIN_DIR"
		return
	fi
	command -v go >/dev/null || die "go not found"
	log "installing minio $MINIO_VERSION into $BIN_DIR (go install; minutes on a cold build cache)"
	mkdir -p "$BIN_DIR"
	rm -f "$BIN_DIR/minio.version"
	(cd "$LOCAL" && GOWORK=off GOBIN="$BIN_DIR" go install "$MINIO_MODULE@$MINIO_VERSION") >&2
	echo "$MINIO_VERSION" >"$BIN_DIR/minio.version"
}

cmd_install() {
	mkdir -p "$LOCAL"
	install_npm
	install_minio
}

# ----------------------------------------------------------------------------------- processes

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# pid_of prints the pid recorded for a service if that process is alive and is still the program
# we started (guards against a recycled pid); returns 1 otherwise.
pid_of() {
	local f pid cmdline
	f=$(pid_file "$1")
	[[ -f "$f" ]] || return 1
	pid=$(<"$f")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case $1 in
	minio) [[ "$cmdline" == *"$BIN_DIR/minio"* ]] ;;
	kinesalite) [[ "$cmdline" == *kinesalite-loopback.js* ]] ;;
	dynalite) [[ "$cmdline" == *dynalite/cli.js* ]] ;;
	moto) [[ "$cmdline" == *moto_server* ]] ;;
	esac || return 1
	echo "$pid"
}

# A syntactically complete SigV4 header: kinesalite, dynalite and moto require one but never
# verify it (moto picks the service by the header's credential scope).
fake_sigv4() {
	local date
	date=$(date -u +%Y%m%dT%H%M%SZ)
	printf -- '-H\0X-Amz-Date: %s\0-H\0Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\0' \
		"$date" "$ACCESS_KEY" "${date%%T*}" "$REGION" "$1"
}

healthy() {
	local out port
	local -a sig
	port=$(port_of "$1")
	case $1 in
	minio)
		curl -fsS -m 2 -o /dev/null "http://$HOST:$port/minio/health/live" 2>/dev/null
		;;
	kinesalite)
		mapfile -d '' sig < <(fake_sigv4 kinesis)
		out=$(curl -sS -m 2 -X POST "http://$HOST:$port/" "${sig[@]}" \
			-H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
			-H 'Content-Type: application/x-amz-json-1.1' -d '{}' 2>/dev/null) &&
			[[ "$out" == *'"StreamNames"'* ]]
		;;
	dynalite)
		mapfile -d '' sig < <(fake_sigv4 dynamodb)
		out=$(curl -sS -m 2 -X POST "http://$HOST:$port/" "${sig[@]}" \
			-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
			-H 'Content-Type: application/x-amz-json-1.0' -d '{}' 2>/dev/null) &&
			[[ "$out" == *'"TableNames"'* ]]
		;;
	moto)
		# One real call per service: moto loads a backend on its first request, so this also
		# takes that delay out of the first test.
		mapfile -d '' sig < <(fake_sigv4 kinesis)
		out=$(curl -sS -m 5 -X POST "http://$HOST:$port/" "${sig[@]}" \
			-H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
			-H 'Content-Type: application/x-amz-json-1.1' -d '{}' 2>/dev/null) &&
			[[ "$out" == *'"StreamNames"'* ]] || return 1
		mapfile -d '' sig < <(fake_sigv4 dynamodb)
		out=$(curl -sS -m 5 -X POST "http://$HOST:$port/" "${sig[@]}" \
			-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
			-H 'Content-Type: application/x-amz-json-1.0' -d '{}' 2>/dev/null) &&
			[[ "$out" == *'"TableNames"'* ]] || return 1
		mapfile -d '' sig < <(fake_sigv4 s3)
		out=$(curl -sS -m 5 "http://$HOST:$port/" "${sig[@]}" 2>/dev/null) &&
			[[ "$out" == *'<ListAllMyBucketsResult'* ]]
		;;
	esac
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# launch NAME ENV... -- CMD ARGS...: start CMD detached (own session, stdin /dev/null, output to
# the log) and record its pid; the child writes its own pid before exec, so the pid file names the
# server itself.
launch() {
	local name=$1 pidf logf
	shift
	local -a envs=()
	while [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	pidf=$(pid_file "$name")
	logf=$(log_file "$name")
	rm -f "$pidf"
	port_of "$name" >"$RUN_DIR/$name.port"
	# One log per run; the previous run's log is kept as .prev.
	[[ -f "$logf" ]] && mv -f "$logf" "$logf.prev"
	printf '==== %s start %s\n' "$(date -u +%FT%TZ)" "$*" >"$logf"
	env "${envs[@]}" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" </dev/null >>"$logf" 2>&1 &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s "$pidf" ]] && return 0
		sleep 0.1
	done
	die "$name: no pid file after launch"
}

start_minio() {
	# A fresh data dir each start: tests and the demo begin with no buckets.
	rm -rf "$DATA_DIR/minio" "$DATA_DIR/minio-events"
	mkdir -p "$DATA_DIR/minio" "$DATA_DIR/minio-events" "$RUN_DIR"
	# Remember where MinIO posts, so `env` can tell a demo or test where to listen.
	local addr=${WEBHOOK_URL#*://}
	echo "${addr%%/*}" >"$RUN_DIR/minio.webhook"
	local -a envs=(
		MINIO_ROOT_USER="$ACCESS_KEY"
		MINIO_ROOT_PASSWORD="$SECRET_KEY"
		MINIO_SITE_REGION="$REGION"
		MINIO_UPDATE=off
		MINIO_NOTIFY_WEBHOOK_ENABLE_${WEBHOOK_ID}=on
		MINIO_NOTIFY_WEBHOOK_ENDPOINT_${WEBHOOK_ID}="$WEBHOOK_URL"
		# Events persist here and are retried while the forwarder is not listening yet.
		MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${WEBHOOK_ID}="$DATA_DIR/minio-events"
	)
	local token=$WEBHOOK_TOKEN
	if [[ -z "$token" ]]; then
		token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	fi
	[[ "$token" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "SHARDLINE_WEBHOOK_TOKEN may only use [A-Za-z0-9._/+-]"
	(umask 077 && printf '%s\n' "$token" >"$RUN_DIR/minio.webhook-token")
	envs+=(MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${WEBHOOK_ID}="$token")
	launch minio "${envs[@]}" -- "$BIN_DIR/minio" server --anonymous \
		--address "$HOST:$S3_PORT" --console-address "$HOST:$S3_CONSOLE_PORT" "$DATA_DIR/minio"
}

start_kinesalite() {
	launch kinesalite NODE_PATH="$NODE_DIR/node_modules" -- node --require "$script_dir/survive-client-abort.js" "$script_dir/kinesalite-loopback.js" \
		--host "$HOST" --port "$KINESIS_PORT" \
		--createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 500
}

start_dynalite() {
	launch dynalite -- node --require "$script_dir/survive-client-abort.js" "$NODE_DIR/node_modules/dynalite/cli.js" \
		--host "$HOST" --port "$DYNAMODB_PORT" \
		--createTableMs 0 --deleteTableMs 0 --updateTableMs 0
}

start_moto() {
	local moto
	moto=$(command -v moto_server) || die "moto: moto_server not found (pip install 'moto[server]')"
	launch moto -- "$moto" -H "$HOST" -p "$MOTO_PORT"
}

# show_log_tail NAME MSG: report a failed start with the end of the server's log.
show_log_tail() {
	log "error: $1: $2; last lines of $(log_file "$1"):"
	tail -n 25 "$(log_file "$1")" >&2 || true
}

# wait_healthy NAME: poll until healthy; fail if the process dies or the deadline passes.
wait_healthy() {
	local name=$1 deadline=$((SECONDS + START_TIMEOUT))
	until healthy "$name"; do
		if ! pid_of "$name" >/dev/null; then
			show_log_tail "$name" "exited during start-up"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			show_log_tail "$name" "not healthy after ${START_TIMEOUT}s"
			return 1
		fi
		sleep 0.2
	done
}

cmd_up() {
	local name pid port
	local -a wanted to_start=() started=()
	mapfile -t wanted < <(services "$@" -- "${SERVICES[@]}")
	[[ ${#wanted[@]} -gt 0 ]] || exit 1 # services died
	for name in "${wanted[@]}"; do
		if [[ $name != moto ]]; then
			npm_installed && minio_installed || cmd_install
			break
		fi
	done
	mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"
	for name in "${wanted[@]}"; do
		if pid=$(pid_of "$name"); then
			healthy "$name" || wait_healthy "$name" || die "$name (pid $pid) is running but unhealthy; try: $0 down"
			log "$name already running (pid $pid, port $(port_of "$name"))"
			continue
		fi
		rm -f "$(pid_file "$name")"
		to_start+=("$name")
	done
	# Check every port before starting anything, so a conflict leaves nothing half-started.
	for name in "${to_start[@]}"; do
		for port in $(port_of "$name") $([[ $name == minio ]] && echo "$S3_CONSOLE_PORT"); do
			if port_open "$port"; then
				die "$name: port $port on $HOST is taken by a process this script did not start"
			fi
		done
	done
	for name in "${to_start[@]}"; do
		"start_$name"
		started+=("$name")
	done
	for name in "${started[@]}"; do
		if ! wait_healthy "$name"; then
			log "stopping what this run started: ${started[*]}"
			for name in "${started[@]}"; do stop_one "$name"; done
			exit 1
		fi
		log "$name up (pid $(pid_of "$name"), port $(port_of "$name"), log $(log_file "$name"))"
		if [[ $name == minio ]]; then
			log "minio webhook target $WEBHOOK_ARN -> $WEBHOOK_URL (queued in $DATA_DIR/minio-events)"
		fi
	done
}

stop_one() {
	local name=$1 pid deadline
	if ! pid=$(pid_of "$name"); then
		rm -f "$(pid_file "$name")" "$RUN_DIR/$name.port"
		return
	fi
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.1
	done
	if alive "$pid"; then
		log "$name (pid $pid) ignored TERM for ${STOP_TIMEOUT}s; sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		while alive "$pid"; do sleep 0.1; done
	fi
	rm -f "$(pid_file "$name")" "$RUN_DIR/$name.port" "$RUN_DIR/$name.webhook-token"
	log "$name stopped (pid $pid)"
}

cmd_down() {
	local name
	local -a wanted
	mapfile -t wanted < <(services "$@" -- "${ALL_SERVICES[@]}")
	[[ ${#wanted[@]} -gt 0 ]] || exit 1 # services died
	for name in "${wanted[@]}"; do
		stop_one "$name"
	done
}

cmd_status() {
	local name pid state
	printf '%-11s %-8s %-6s %s\n' SERVICE STATE PORT PID
	for name in "${ALL_SERVICES[@]}"; do
		if pid=$(pid_of "$name"); then
			state=running
			healthy "$name" || state=starting
		else
			state=stopped
			pid=-
		fi
		printf '%-11s %-8s %-6s %s\n' "$name" "$state" "$(port_of "$name")" "$pid"
	done
}

cmd_env() {
	# Unquoted on purpose: each line is valid both for `eval` in a shell and as a Makefile line.
	local v
	for v in "$ACCESS_KEY" "$SECRET_KEY"; do
		[[ "$v" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "local credentials may only use [A-Za-z0-9._/+-]"
	done
	case ${1:-} in
	'') ;;
	moto)
		# moto_server serves every service on one port; SHARDLINE_STACK=moto tells the integration
		# tests (internal/lab/emulators) to skip what moto cannot do.
		cat <<EOF
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_ENDPOINT_URL_S3=http://$HOST:$(port_of moto)
export AWS_ENDPOINT_URL_KINESIS=http://$HOST:$(port_of moto)
export AWS_ENDPOINT_URL_DYNAMODB=http://$HOST:$(port_of moto)
export SHARDLINE_S3_PATH_STYLE=true
export AWS_EC2_METADATA_DISABLED=true
export SHARDLINE_STACK=moto
EOF
		return
		;;
	*) die "env: unknown variant '$1' (none, or moto)" ;;
	esac
	# Every SHARDLINE_* name is a flag's variable (internal/cli TestStackEnvNamesAreFlags):
	# NOTIFY_ARN for setup (--notify-arn, also demo and chaos), LISTEN for forward (--listen: where
	# MinIO posts), WEBHOOK_ADDR for demo and chaos (--webhook-addr: the same address, where their
	# proxy listens), WEBHOOK_TOKEN for forward; STACK tells the integration tests which stack runs.
	local webhook_addr
	webhook_addr=$(cat "$RUN_DIR/minio.webhook" 2>/dev/null || echo "$HOST:$FORWARD_PORT")
	cat <<EOF
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_ENDPOINT_URL_S3=http://$HOST:$(port_of minio)
export AWS_ENDPOINT_URL_KINESIS=http://$HOST:$(port_of kinesalite)
export AWS_ENDPOINT_URL_DYNAMODB=http://$HOST:$(port_of dynalite)
export SHARDLINE_S3_PATH_STYLE=true
export AWS_EC2_METADATA_DISABLED=true
export SHARDLINE_NOTIFY_ARN=$WEBHOOK_ARN
export SHARDLINE_LISTEN=$webhook_addr
export SHARDLINE_WEBHOOK_ADDR=$webhook_addr
export SHARDLINE_STACK=local
EOF
	# The token the running MinIO sends; none for a MinIO started before tokens were configured.
	local token
	if token=$(cat "$RUN_DIR/minio.webhook-token" 2>/dev/null) && [[ "$token" =~ ^[A-Za-z0-9._/+-]+$ ]]; then
		echo "export SHARDLINE_WEBHOOK_TOKEN=$token"
	fi
}

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cmd=${1:-}
[[ $# -eq 0 ]] || shift
case $cmd in
install) cmd_install ;;
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
status) cmd_status ;;
env) cmd_env "$@" ;;
*) usage ;;
esac
