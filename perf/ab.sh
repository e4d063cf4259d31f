#!/bin/sh
# perf/ab.sh — two builds of SwarmMQ side by side: BASE (a git revision,
# before a change) and the working tree (head, after it), same flags,
# 128-byte messages, each with its node embedded in its benchmark process;
# writes $OUT/README.md with head/base ratios (of the medians, and the
# median of each round's ratio) and flags any workload whose rate fell by
# more than 5%. About 5 minutes on 2 cores.
#
#   BASE=243a07b perf/ab.sh          # or: make bench-ab BASE=243a07b
#   BASE=main ROUNDS=7 WORKLOADS="publish e2e" perf/ab.sh
#
# The two builds alternate, the order flipping each round; the report takes
# the median of the rounds. Run it on a quiet machine: both builds share its
# cores with whatever else runs.
set -eu

cd "$(dirname "$0")/.."
: "${BASE:?set BASE to the git revision to compare the working tree with}"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-1s}
WARMUP=${WARMUP:-250ms}
SIZE=${SIZE:-128}
CONSUME_MSGS=${CONSUME_MSGS:-150000}
WORKLOADS=${WORKLOADS:-publish publish-sync consume consume-confirmed e2e}
FSYNCS=${FSYNCS:-always interval}
OUT=${OUT:-perf/results/tmp/ab}
RUNS=${RUNS:-perf/results/tmp/ab-runs}
GO=${GO:-go}

base=$(git rev-parse --short "$BASE")
head=$(git rev-parse --short HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then head="$head+dirty"; fi
src=$(mktemp -d)
trap 'git worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"' EXIT INT TERM
echo "building the base ($base) and the head ($head) swarmbench"
git worktree add --detach "$src" "$base" >/dev/null
mkdir -p bin
(cd "$src" && $GO build -o "$OLDPWD/bin/swarmbench-base" ./cmd/swarmbench)
$GO build -o bin/swarmbench ./cmd/swarmbench

rm -rf "$RUNS"
mkdir -p "$RUNS"
LOG="$RUNS/tables.txt"
begin=$(date +%s)
FAILED=0

# bench BUILD ARGS...: one run, its table appended to the log.
bench() {
	b=$1
	shift
	if [ "$b" = base ]; then bin=bin/swarmbench-base; else bin=bin/swarmbench; fi
	for try in 1 2; do
		echo "== $b $* (try $try)" >>"$LOG"
		if $bin run --embedded --size "$SIZE" --warmup "$WARMUP" --out "$RUNS" "$@" >>"$LOG" 2>&1; then
			return 0
		fi
		echo "FAILED (try $try): $b $*  (see $LOG)" >&2
	done
	FAILED=$((FAILED + 1))
}

for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="base head"; else order="head base"; fi
	for fsync in $FSYNCS; do
		for w in $WORKLOADS; do
			for b in $order; do
				extra="--duration $DURATION"
				case $w in consume*) extra="$extra --msgs $CONSUME_MSGS" ;; esac
				# shellcheck disable=SC2086
				bench "$b" --fsync "$fsync" -w "$w" $extra --label "$b round=$round" --name "$b-$fsync-$w-r$round"
			done
		done
	done
	echo "round $round done after $(($(date +%s) - begin))s"
done

bin/swarmbench report --ab --out "$OUT" --reproduce "BASE=$base perf/ab.sh (head $head)" "$RUNS"/*.json
echo "total $(($(date +%s) - begin))s; every run's table is in $LOG; runs failed twice: $FAILED"
grep -E "Slower than base|No workload" "$OUT/README.md" || true
