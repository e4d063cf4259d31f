#!/bin/sh
# perf/compare.sh — SwarmMQ and NATS JetStream side by side, at matched
# durability, with 128-byte messages; writes docs/perf/results.json,
# results.csv, curves.svg and README.md. Runs in about 4 minutes on 2 cores
# (plus the first build of natsbench, about 2 minutes when nothing is cached).
#
#   perf/compare.sh                 # or: make bench-compare
#   ROUNDS=5 DURATION=2s perf/compare.sh
#
# Each broker runs embedded in its benchmark process: bin/swarmbench
# (SwarmMQ, root module) and bin/natsbench (NATS, module perf/natspeer).
# Pairs: SwarmMQ fsync=always vs JetStream sync_interval=always, and
# SwarmMQ fsync=interval vs JetStream's default. For every workload the two
# systems alternate, the order flipping each round; the report takes the
# median of the rounds. The open-loop curves run CURVE_ROUNDS times (each
# step reported as the median over them).
set -eu

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-1s}
WARMUP=${WARMUP:-250ms}
SIZE=${SIZE:-128}
CONSUME_MSGS=${CONSUME_MSGS:-150000}
STEPS=${STEPS:-10,30,50,70,90,100}
STEP_DURATION=${STEP_DURATION:-800ms}
WORKLOADS=${WORKLOADS:-publish publish-sync consume consume-confirmed e2e}
CURVES=${CURVES:-publish e2e}
CURVE_ROUNDS=${CURVE_ROUNDS:-2}
OUT=${OUT:-docs/perf}
RUNS=${RUNS:-perf/results/tmp/compare}
GO=${GO:-go}

echo "building bin/swarmbench and bin/natsbench"
mkdir -p bin
$GO build -o bin/swarmbench ./cmd/swarmbench
(cd perf/natspeer && $GO build -o ../../bin/natsbench ./cmd/natsbench)

rm -rf "$RUNS"
mkdir -p "$RUNS"
LOG="$RUNS/tables.txt"
common="--embedded --size $SIZE --warmup $WARMUP --out $RUNS"
begin=$(date +%s)

# bench SYSTEM ARGS...: one run, its table appended to the log.
bench() {
	sys=$1
	shift
	if [ "$sys" = swarmmq ]; then bin=bin/swarmbench; else bin=bin/natsbench; fi
	for try in 1 2; do
		echo "== $sys $* (try $try)" >>"$LOG"
		if $bin run $common "$@" >>"$LOG" 2>&1; then
			return 0
		fi
		echo "FAILED (try $try): $bin run $common $*  (see $LOG)" >&2
	done
	# A run that fails twice is left out of the report (its median uses the
	# other rounds) rather than losing the whole comparison.
	FAILED=$((FAILED + 1))
}
FAILED=0

for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="swarmmq nats"; else order="nats swarmmq"; fi
	for fsync in always interval; do
		for w in $WORKLOADS; do
			for sys in $order; do
				extra="--duration $DURATION"
				case $w in consume*) extra="$extra --msgs $CONSUME_MSGS" ;; esac
				bench "$sys" --fsync "$fsync" -w "$w" $extra --label "round=$round" --name "$sys-$fsync-$w-r$round"
			done
		done
	done
	echo "round $round done after $(($(date +%s) - begin))s"
done

for round in $(seq 1 "$CURVE_ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="swarmmq nats"; else order="nats swarmmq"; fi
	for fsync in always interval; do
		for w in $CURVES; do
			for sys in $order; do
				bench "$sys" --fsync "$fsync" -w "$w" --duration "$DURATION" --steps "$STEPS" \
					--step-duration "$STEP_DURATION" --label "round=$round" --name "$sys-$fsync-$w-curve-r$round"
			done
		done
	done
	echo "curve round $round done after $(($(date +%s) - begin))s"
done

bin/swarmbench report --out "$OUT" --reproduce "perf/compare.sh" "$RUNS"/*.json
echo "total $(($(date +%s) - begin))s; every run's table is in $LOG; runs failed twice: $FAILED"
