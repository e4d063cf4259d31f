#!/usr/bin/env bash
# The local cluster of `make cluster` / `make cluster-stop`: every node of a
# cluster config (default configs/cluster-5.yaml) as a background process
# on this machine, data in $DATA/<id>, log in $DATA/<id>.log, pid in
# $DATA/<id>.pid. docs/cluster.md describes it.
#
#   test/cluster/local-cluster.sh start         # start the nodes not running, wait for /health, print how to use it
#   test/cluster/local-cluster.sh stop          # SIGTERM, then SIGKILL after $STOP_TIMEOUT seconds
#   test/cluster/local-cluster.sh status        # which nodes run, and their pids
#   test/cluster/local-cluster.sh leader DEST   # the node leading DEST's partition, and how to kill it
#   test/cluster/local-cluster.sh kill-leader DEST   # kill -9 of that node
#
# Run from the repository's root after `make build` (make cluster does both).
set -euo pipefail

CONFIG=${CONFIG:-configs/cluster-5.yaml}
DATA=${DATA:-data}
BIN=${BIN:-bin}
START_TIMEOUT=${START_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

die() { echo "local-cluster: $*" >&2; exit 1; }

[[ -f $CONFIG ]] || die "no config $CONFIG (run from the repository's root, or set CONFIG)"
[[ -x $BIN/clusterinfo ]] || die "$BIN/clusterinfo missing: run make cluster (it builds it)"

# NODES: one line per node: id client peer http.
NODES=$("$BIN/clusterinfo" --config "$CONFIG" nodes) || exit 1

pidfile() { echo "$DATA/$1.pid"; }

# alive ID: the node's pid if its pid file names a running node process.
alive() {
	local f pid
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# A killed node stays a zombie until its new parent reaps it.
	local comm stat
	read -r comm stat < <(ps -o comm=,stat= -p "$pid" 2>/dev/null) || return 1
	[[ $comm == node && $stat != Z* ]] || return 1
	echo "$pid"
}

# taken HOST:PORT: something listens on the port (any address).
taken() {
	local port=${1##*:}
	if command -v ss >/dev/null; then
		[[ -n $(ss -ltnH "sport = :$port" 2>/dev/null) ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

healthy() { curl -fsS -m 1 -o /dev/null "http://$1/health" 2>/dev/null; }

start() {
	[[ -x $BIN/node ]] || die "$BIN/node missing: run make cluster (it builds it)"
	mkdir -p "$DATA"
	local id client peer http missing=() problems=()
	while read -r id client peer http; do
		alive "$id" >/dev/null && continue
		missing+=("$id")
		for a in "client address $client" "peer address $peer" "HTTP address $http"; do
			if taken "${a##* }"; then
				problems+=("$id's ${a% *} (${a##* }) is taken by another process: 'ss -ltnp' shows which; stop it (or make cluster-stop)")
			fi
		done
	done <<<"$NODES"
	if ((${#problems[@]})); then
		printf 'local-cluster: %s\n' "${problems[@]}" >&2
		exit 1
	fi
	if ((${#missing[@]} == 0)); then
		echo "The cluster of $CONFIG is already running."
		usage
		return
	fi
	# Every node of a cluster keys producer sessions with one shared key.
	local key
	key=$("$BIN/clusterinfo" --config "$CONFIG" producer-key) || exit 1
	if [[ -n $key && ! -f $key ]]; then
		mkdir -p "$(dirname "$key")"
		"$BIN/node" --gen-producer-key "$key" || die "cannot write the producer key $key"
	fi
	for id in "${missing[@]}"; do
		echo "=== local-cluster $(date -u +%FT%TZ): start $id" >>"$DATA/$id.log"
		# setsid: the node is not in make's process group, so a Ctrl-C in
		# this terminal does not reach it.
		setsid "$BIN/node" --config "$CONFIG" --node-id "$id" --data-dir "$DATA/$id" >>"$DATA/$id.log" 2>&1 </dev/null &
		echo $! >"$(pidfile "$id")"
	done
	echo "starting ${missing[*]} (logs in $DATA/<id>.log)..."
	local deadline=$((SECONDS + START_TIMEOUT)) failed=()
	for id in "${missing[@]}"; do
		http=$(awk -v id="$id" '$1 == id { print $4 }' <<<"$NODES")
		until healthy "$http"; do
			if ! alive "$id" >/dev/null; then
				failed+=("$id")
				echo "local-cluster: $id exited; the end of $DATA/$id.log:" >&2
				tail -n 15 "$DATA/$id.log" | sed 's/^/    /' >&2
				rm -f "$(pidfile "$id")"
				break
			fi
			if ((SECONDS >= deadline)); then
				failed+=("$id")
				echo "local-cluster: $id does not answer http://$http/health after ${START_TIMEOUT}s (log $DATA/$id.log)" >&2
				break
			fi
			sleep 0.2
		done
	done
	if ((${#failed[@]})); then
		echo "local-cluster: ${failed[*]} did not start; stopping the others" >&2
		stop >&2
		exit 1
	fi
	usage
}

usage() {
	local seeds id client peer http
	seeds=$(awk '{ print $2 }' <<<"$NODES" | paste -sd, -)
	echo
	echo "Nodes (data in $DATA/<id>, logs in $DATA/<id>.log):"
	while read -r id client peer http; do
		printf '  %-8s client %-16s HTTP %-16s pid %s\n' "$id" "$client" "$http" "$(alive "$id" || echo '-')"
	done <<<"$NODES"
	cat <<USAGE

Publish through any node (the client finds each destination's leader):
  $BIN/producer-client --node $seeds -d orders -n 200000 --rate 5000
Kill the node that leads orders (in another terminal, while the producer runs):
  test/cluster/local-cluster.sh kill-leader orders      # 'leader orders' only says which it is
Read every message once:
  $BIN/consumer-client --node $seeds -d orders -g audit -n 200000 --timeout 10s | wc -l
Restart the nodes that are down: make cluster. Stop them all: make cluster-stop.
USAGE
}

stop() {
	local id client peer http pid pids=() ids=()
	while read -r id client peer http; do
		if pid=$(alive "$id"); then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
			ids+=("$id")
		else
			rm -f "$(pidfile "$id")"
		fi
	done <<<"$NODES"
	if ((${#pids[@]} == 0)); then
		echo "no node of $CONFIG is running (no live pid in $DATA/<id>.pid)"
		return
	fi
	echo "stopping ${ids[*]} (SIGTERM; SIGKILL after ${STOP_TIMEOUT}s)..."
	local deadline=$((SECONDS + STOP_TIMEOUT)) i
	for i in "${!pids[@]}"; do
		while kill -0 "${pids[$i]}" 2>/dev/null; do
			if ((SECONDS >= deadline)); then
				echo "${ids[$i]} (pid ${pids[$i]}) did not stop in ${STOP_TIMEOUT}s: SIGKILL"
				kill -KILL "${pids[$i]}" 2>/dev/null || true
				break
			fi
			sleep 0.2
		done
		rm -f "$(pidfile "${ids[$i]}")"
	done
	echo "stopped. Data stays in $DATA/ (make clean-data deletes it)."
}

status() {
	local id client peer http pid up=0
	while read -r id client peer http; do
		if pid=$(alive "$id"); then
			up=$((up + 1))
			if healthy "$http"; then
				echo "$id running (pid $pid), /health ok"
			else
				echo "$id running (pid $pid), /health not ok (paused, starting or failing: see $DATA/$id.log)"
			fi
		else
			echo "$id not running"
		fi
	done <<<"$NODES"
	((up > 0))
}

leader() {
	local dest=${1:?usage: local-cluster.sh leader DEST} p id client http
	read -r p id client http < <("$BIN/clusterinfo" --config "$CONFIG" leader "$dest") || exit 1
	[[ -n ${id:-} ]] || exit 1
	echo "$dest is on partition $p, led by $id (client $client, HTTP $http)."
	echo "Kill it:   kill -9 \$(cat $(pidfile "$id"))"
	echo "Bring it back on its data: make cluster"
}

kill_leader() {
	local dest=${1:?usage: local-cluster.sh kill-leader DEST} p id client http pid
	read -r p id client http < <("$BIN/clusterinfo" --config "$CONFIG" leader "$dest") || exit 1
	[[ -n ${id:-} ]] || exit 1
	pid=$(alive "$id") || die "$id leads $dest but is not a node this script started (no live pid in $(pidfile "$id"))"
	kill -KILL "$pid"
	echo "killed $id (pid $pid) with SIGKILL: it led $dest (partition $p). make cluster brings it back on its data."
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
leader) shift; leader "$@" ;;
kill-leader) shift; kill_leader "$@" ;;
*) die "usage: $0 start|stop|status|leader DEST|kill-leader DEST" ;;
esac
