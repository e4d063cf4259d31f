#!/bin/sh
# perf/cluster.sh — SwarmMQ replicated on three nodes (configs/cluster-3.yaml,
# every partition on all three, a publish acknowledged once fsynced on a
# quorum of two) side by side with one embedded node (fsync=always), same
# client, 128-byte messages; writes docs/perf/cluster/. About a minute on
# 2 cores.
#
#   perf/cluster.sh                 # or: make bench-cluster
#   ROUNDS=5 DURATION=2s perf/cluster.sh
#
# The three nodes run as processes on this machine (test/cluster/local-cluster.sh,
# data in $DATA, removed afterwards); the benchmark client is given all three
# addresses and follows each destination's leader. The two set-ups alternate,
# the order flipping each round; the report takes the median of the rounds.
# Both share the machine's cores with the client: the figures compare the
# two set-ups here, they are not what three machines would do.
set -eu

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-2s}
WARMUP=${WARMUP:-300ms}
SIZE=${SIZE:-128}
CONSUME_MSGS=${CONSUME_MSGS:-100000}
WORKLOADS=${WORKLOADS:-publish publish-sync consume-confirmed e2e}
CONFIG=${CONFIG:-configs/cluster-3.yaml}
DATA=${DATA:-perf/results/tmp/cluster-data}
OUT=${OUT:-docs/perf/cluster}
RUNS=${RUNS:-perf/results/tmp/cluster}
GO=${GO:-go}

echo "building bin/node, bin/swarmbench and bin/clusterinfo"
mkdir -p bin
$GO build -o bin/ ./cmd/node ./cmd/swarmbench ./test/cluster/cmd/clusterinfo

rm -rf "$RUNS" "$DATA"
mkdir -p "$RUNS"
LOG="$RUNS/tables.txt"

cluster() { CONFIG=$CONFIG DATA=$DATA BIN=bin test/cluster/local-cluster.sh "$@"; }
trap 'cluster stop >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT INT TERM
cluster start >/dev/null
seeds=$(bin/clusterinfo --config "$CONFIG" nodes | awk '{print $2}' | paste -sd, -)
echo "cluster up: $seeds"
begin=$(date +%s)
FAILED=0

# bench SETUP ARGS...: one run, its table appended to the log.
bench() {
	setup=$1
	shift
	case $setup in
	r1) where="--embedded --fsync always" ;;
	r3) where="--addr $seeds" ;;
	esac
	for try in 1 2; do
		echo "== $setup $* (try $try)" >>"$LOG"
		# shellcheck disable=SC2086
		if bin/swarmbench run $where --size "$SIZE" --warmup "$WARMUP" --out "$RUNS" "$@" >>"$LOG" 2>&1; then
			return 0
		fi
		echo "FAILED (try $try): $setup $*  (see $LOG)" >&2
	done
	FAILED=$((FAILED + 1))
}

for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="r1 r3"; else order="r3 r1"; fi
	for w in $WORKLOADS; do
		for setup in $order; do
			extra="--duration $DURATION"
			case $w in consume*) extra="--msgs $CONSUME_MSGS" ;; esac
			# shellcheck disable=SC2086
			bench "$setup" -w "$w" $extra --label "$setup round=$round" --name "$setup-$w-r$round"
		done
	done
	echo "round $round done after $(($(date +%s) - begin))s"
done

bin/swarmbench report --cluster --out "$OUT" --reproduce "perf/cluster.sh" "$RUNS"/*.json
echo "total $(($(date +%s) - begin))s; every run's table is in $LOG; runs failed twice: $FAILED"
