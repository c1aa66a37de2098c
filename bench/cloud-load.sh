#!/bin/sh
# cloud-load.sh - benchmarks porthole-cloud over real sockets: for each of
# cloud-load's four scenarios (idle, session, relay, fanout), and idle and
# relay again with Socket.IO peers (idle-sio, relay-sio: cloud-load --sio,
# the same generator over /socket.io/), and relay beside 10,000 registered
# idle clients (relay-held; 2,000 with --short: what a server's event loop
# pays for the connections it holds), it starts a fresh porthole-cloud
# inside a private network namespace that has only lo, runs the scenario
# against it, and prints the scenario's JSON line.
#
# Usage: bench/cloud-load.sh [--short] [--perf DIR] [--only SCENARIO] [BUILD_DIR]
#   --short         all four scenarios in well under a minute, small sizes
#   --perf DIR      also record the server with perf during session, relay
#                   and fanout (DIR/NAME.perf.data; fanout's includes the
#                   registrations before its rounds)
#   --only NAME     run one scenario (idle, session, relay, fanout, idle-sio,
#                   relay-sio, relay-held)
#   BUILD_DIR       where porthole-cloud and cloud-load are [build]
# CLOUD_ARGS="--flag value ..." adds porthole-cloud flags to every start
# (S1 with --ws-rx-chunk 256: docs/PERFORMANCE.md).
# Needs root (unshare -n). stdout: one JSON line per scenario, nothing else;
# progress on stderr. Every step is bounded in time; a scenario that fails
# or times out still prints a line, with an "error" field.
set -eu

short=0
perf_dir=""
only=""
while [ $# -gt 0 ]; do
    case $1 in
    --short) short=1 ;;
    --perf) perf_dir=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "cloud-load.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ -n "$perf_dir" ]; then
    mkdir -p "$perf_dir"
    perf_dir=$(cd "$perf_dir" && pwd)
fi

# Everything below runs in a network namespace of its own, with only lo:
# no packet can leave the machine, and ports cannot collide with others'.
if [ "${CLOUD_LOAD_NETNS:-}" != 1 ]; then
    args="$build"
    [ "$short" = 1 ] && args="--short $args"
    [ -n "$perf_dir" ] && args="--perf $perf_dir $args"
    [ -n "$only" ] && args="--only $only $args"
    # shellcheck disable=SC2086 # args holds separate words, none with spaces
    exec unshare -n env CLOUD_LOAD_NETNS=1 sh "$0" $args
fi
ip link set lo up

cloud="$build/porthole-cloud"
gen="$build/cloud-load"
for f in "$cloud" "$gen"; do
    [ -x "$f" ] || { echo "cloud-load.sh: $f is missing: build first (make build)" >&2; exit 1; }
done
port=3001
tmp=$(mktemp -d /tmp/cloud-load.XXXXXX)
server_pid=""
gen_pid=""
perf_pid=""
hold_pid=""

stop_pid() { # pid [signal]: ends a process we started, waits at most 5 s
    [ -n "$1" ] || return 0
    kill "-${2:-TERM}" "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    trap - INT TERM EXIT
    stop_pid "$gen_pid"
    stop_pid "$hold_pid"
    stop_pid "$perf_pid" INT
    stop_pid "$server_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# The server's limits for the bench: the rate limit off (one connection
# sends thousands of messages a second), sessions and queues generous,
# connections up to the open-file limit (20,000 per process here), and
# warnings only (info logs two lines per session). fanout's robots connect
# with the clients but register one per round: on a loaded machine setting
# up 5,000 clients takes longer than the default 10 s to register.
start_server() {
    # shellcheck disable=SC2086 # CLOUD_ARGS holds separate words
    "$cloud" --bind 127.0.0.1 --port $port --web-root "$root/web" --rate-limit 0 \
        --register-timeout 300 \
        --max-connections 20000 --max-client-sessions 1000 --max-robot-sessions 100000 \
        --max-queue 64MiB --sio-max-sessions 20000 --log-level warn ${CLOUD_ARGS:-} \
        2>"$tmp/server.log" &
    server_pid=$!
    i=0
    until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 50 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "cloud-load.sh: porthole-cloud did not start" >&2
            cat "$tmp/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# run NAME LIMIT_S ARGS...: one scenario against a fresh server; prints
# its JSON line (or one with an error), within LIMIT_S seconds.
run() {
    name=$1 limit=$2
    shift 2
    [ -z "$only" ] || [ "$only" = "$name" ] || return 0
    echo "cloud-load.sh: $name: $*" >&2
    if ! start_server; then
        echo "{\"scenario\":\"$name\",\"error\":\"porthole-cloud did not start\"}"
        return 0
    fi
    if [ -n "$perf_dir" ] && { [ "$name" = session ] || [ "$name" = relay ] ||
                                 [ "$name" = fanout ]; }; then
        perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" \
            -o "$perf_dir/$name.perf.data" 2>"$tmp/perf.log" &
        perf_pid=$!
    fi
    if [ -n "${held:-}" ] && ! hold_idle "$held" "$limit"; then
        echo "{\"scenario\":\"$name\",\"error\":\"$held idle clients did not register\"}"
        stop_pid "$hold_pid"; hold_pid=""
        stop_pid "$server_pid"; server_pid=""
        return 0
    fi
    rc=0
    scen=${name%-held} # NAME-held: scenario NAME beside idle clients held
    case $scen in
    *-sio) scen=${scen%-sio}; set -- --sio "$@" ;; # scenario NAME with Socket.IO peers
    esac
    timeout -k 5 "$limit" "$gen" "$scen" --port $port --server-pid "$server_pid" "$@" \
        >"$tmp/out" &
    gen_pid=$!
    wait "$gen_pid" || rc=$?
    gen_pid=""
    stop_pid "$perf_pid" INT
    perf_pid=""
    line=$(tail -n 1 "$tmp/out")
    case $line in
    "{"*) [ -z "${held:-}" ] || line="{\"held_idle_clients\":$held,${line#\{}"; echo "$line" ;;
    *) echo "{\"scenario\":\"$name\",\"error\":\"cloud-load exited with status $rc (124: timed out after $limit s) without a result\"}" ;;
    esac
    if grep -qv '^$' "$tmp/server.log"; then
        echo "cloud-load.sh: $name: server log:" >&2
        tail -n 5 "$tmp/server.log" >&2
    fi
    stop_pid "$hold_pid"
    hold_pid=""
    stop_pid "$server_pid"
    server_pid=""
}

# hold_idle N LIMIT_S: N registered clients that stay idle (cloud-load
# idle --hold) beside the scenario, from 127.0.0.70 and up; returns once
# /health counts them, or 1 after LIMIT_S/2 seconds.
hold_idle() {
    timeout -k 5 "$2" "$gen" idle --port $port --clients "$1" --procs 1 --hold "$2"         --source 127.0.0.70 --timeout $(($2 / 2)) --quiet >/dev/null &
    hold_pid=$!
    i=0
    while [ $i -lt $(($2 * 5)) ]; do
        n=$(curl -fs "http://127.0.0.1:$port/health" 2>/dev/null |
            sed -n 's/.*"clients":\([0-9]*\).*/\1/p')
        [ "${n:-0}" -ge "$1" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Each scenario has its own source addresses: the sockets a scenario leaves
# in TIME_WAIT then never hold the ports the next one binds.
if [ "$short" = 1 ]; then
    run idle 40 --clients 5000 --procs 2 --source 127.0.0.10 --timeout 25 --quiet
    run session 20 --clients 100 --robots 10 --duration 3 --source 127.0.0.20 --quiet
    run relay 20 --clients 64 --robots 8 --window 8 --duration 3 --source 127.0.0.30 --quiet
    run fanout 30 --clients 5000 --rounds 3 --source 127.0.0.40 --timeout 15 --quiet
    run idle-sio 40 --clients 5000 --procs 2 --source 127.0.0.50 --timeout 25 --quiet
    run relay-sio 20 --clients 64 --robots 8 --window 8 --duration 3 --source 127.0.0.60 --quiet
    held=2000
    run relay-held 40 --clients 64 --robots 8 --window 8 --duration 3 --source 127.0.0.80 --quiet
    held=
else
    run idle 240 --clients 19000 --procs 4 --source 127.0.0.10 --timeout 150
    run session 60 --clients 200 --robots 20 --warmup 1 --duration 10 --source 127.0.0.20
    run relay 60 --clients 64 --robots 8 --window 8 --warmup 1 --duration 10 --source 127.0.0.30
    run fanout 120 --clients 5000 --rounds 10 --source 127.0.0.40 --timeout 60
    run idle-sio 240 --clients 19000 --procs 4 --source 127.0.0.50 --timeout 150
    run relay-sio 60 --clients 64 --robots 8 --window 8 --warmup 1 --duration 10 --source 127.0.0.60
    held=10000
    run relay-held 180 --clients 64 --robots 8 --window 8 --warmup 1 --duration 10 \
        --source 127.0.0.80
    held=
fi
