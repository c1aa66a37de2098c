#!/bin/sh
# cloud-cluster.sh - S2 (sessions) and S3 (relayed messages) of cloud-load
# against porthole-cloud with 1, 2 and 4 workers (--workers N; several
# workers share a private redis-server) and against two instances on one
# Redis with every robot on instance A and every viewer on instance B, so
# that every session and every relayed message crosses Redis. The
# server's CPU and RSS are the sum over every server process (master,
# workers, instances, redis-server).
#
# Usage: bench/cloud-cluster.sh [--short] [BUILD_DIR]
# Needs root (unshare -n), redis-server. stdout: one JSON line per run,
# cloud-load's with a "config" field first; progress on stderr.
set -eu
short=0
if [ "${1:-}" = --short ]; then short=1; shift; fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ "${CLOUD_LOAD_NETNS:-}" != 1 ]; then
    a="$build"
    [ "$short" = 1 ] && a="--short $a"
    # shellcheck disable=SC2086 # a holds separate words, none with spaces
    exec unshare -n env CLOUD_LOAD_NETNS=1 sh "$0" $a
fi
ip link set lo up
cloud="$build/porthole-cloud"
gen="$build/cloud-load"
command -v redis-server >/dev/null || { echo "cloud-cluster.sh: no redis-server" >&2; exit 1; }
tmp=$(mktemp -d /tmp/cloud-cluster.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pids=""
}
trap 'cleanup; rm -rf "$tmp"' EXIT
trap 'cleanup; rm -rf "$tmp"; exit 130' INT TERM

flags="--bind 127.0.0.1 --web-root $root/web --rate-limit 0 --max-connections 20000 \
--max-client-sessions 1000 --max-robot-sessions 100000 --max-queue 64MiB --log-level warn"

wait_health() { # port
    i=0
    until curl -fs "http://127.0.0.1:$1/health" 2>/dev/null | grep -q '"status":"ok"'; do
        i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
    done
}

# The --server-pid arguments: each pid and its children (workers, redis).
server_args() {
    out=""
    for p in "$@"; do
        out="$out --server-pid $p"
        for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do out="$out --server-pid $c"; done
    done
    echo "$out"
}

# measure CONFIG SCENARIO LIMIT ARGS...: one cloud-load run, its line tagged.
measure() {
    config=$1 name=$2 limit=$3
    shift 3
    echo "cloud-cluster.sh: $config: $name $*" >&2
    line=$(timeout -k 5 "$limit" "$gen" "$name" "$@" 2>"$tmp/gen.log" | tail -n 1) || true
    case $line in
    "{"*) echo "{\"config\":\"$config\",${line#\{}" ;;
    *) echo "{\"config\":\"$config\",\"scenario\":\"$name\",\"error\":\"no result\"}"
       tail -n 3 "$tmp/gen.log" >&2 ;;
    esac
}

if [ "$short" = 1 ]; then
    s2="--clients 100 --robots 10 --duration 3 --quiet"
    s3="--clients 64 --robots 8 --window 8 --duration 3 --quiet"
else
    s2="--clients 200 --robots 20 --warmup 1 --duration 10"
    s3="--clients 64 --robots 8 --window 8 --warmup 1 --duration 10"
fi
src=50
for workers in 1 2 4; do
    # shellcheck disable=SC2086
    "$cloud" $flags --port 3001 --workers "$workers" 2>"$tmp/server.log" &
    pids=$!
    wait_health 3001 || { echo "cloud-cluster.sh: no server" >&2; cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.5
    sp=$(server_args $pids)
    # shellcheck disable=SC2086
    measure "$workers worker(s)" session 60 --port 3001 $sp $s2 --source 127.0.0.$src
    src=$((src + 10))
    # shellcheck disable=SC2086
    measure "$workers worker(s)" relay 60 --port 3001 $sp $s3 --source 127.0.0.$src
    src=$((src + 10))
    cleanup
done

# Two instances on one Redis: robots on A, viewers on B.
redis-server --port 6399 --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
rp=$!
# shellcheck disable=SC2086
"$cloud" $flags --port 3001 --workers 1 --store redis://127.0.0.1:6399 --instance-id A 2>"$tmp/a.log" &
ap=$!
# shellcheck disable=SC2086
"$cloud" $flags --port 3002 --workers 1 --store redis://127.0.0.1:6399 --instance-id B 2>"$tmp/b.log" &
bp=$!
pids="$ap $bp $rp"
wait_health 3001 && wait_health 3002 || { echo "cloud-cluster.sh: no instances" >&2; exit 1; }
sleep 0.5
sp="--server-pid $ap --server-pid $bp --server-pid $rp"
# shellcheck disable=SC2086
measure "2 instances + Redis" session 60 --port 3002 --robot-port 3001 $sp $s2 --source 127.0.0.$src
src=$((src + 10))
# shellcheck disable=SC2086
measure "2 instances + Redis" relay 60 --port 3002 --robot-port 3001 $sp $s3 --source 127.0.0.$src
cleanup
