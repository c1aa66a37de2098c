#!/bin/sh
# million.sh - the million-connection bench (issue 16): porthole-cloud with
# one worker per PER_WORKER connections (--workers W, their private
# redis-server between them), and cloud-load's fanout scenario with N
# registered clients over generator processes of at most PER_PROC
# connections each, each on its own loopback source address (127.0.1.1,
# 127.0.1.2, ...); then one robot registers and every client must get
# robot-available. Scales run one after another, each with a fresh server,
# until one fails or runs out of its time limit.
#
# Usage: bench/million.sh [--clients N[,N...]] [--per-worker N] [--per-proc N]
#                         [--presence-ttl S] [--limit S] [BUILD_DIR]
#   --clients     the scales [50000,200000,1000000]
#   --per-worker  connections per server worker [15000], under the 20,000
#                 open files one worker may hold. On its epoll loop (the
#                 default --event-loop) a worker's wakeup costs in
#                 proportion to the sockets that have events; on lws's own
#                 poll() loop every wakeup looked at every socket held, and
#                 5,000 a worker was the most that paid
#   --per-proc    connections per generator process (libuv, epoll): under
#                 the 20,000 open files one process may hold [15000]
#   --presence-ttl S  the workers' presence TTL [60]: with the default 15 s
#                 a worker that the loaded machine starves for a few seconds
#                 misses its PING deadline (TTL/2) and drops Redis
#   --limit S     wall-time limit of one scale [600]
# The server pings an idle connection after --ping-interval 300 s (20 by
# default) and hangs up after twice that: with 20 s, generators starved by
# the loaded machine answered too late and lost half of 100,000
# registered connections before the robot came. Each WebSocket gets a
# 256-byte receive chunk (--ws-rx-chunk; 1 KiB by default): the scenario
# is bound by memory per idle connection, not by CPU per message
# (docs/PERFORMANCE.md, "Memory per idle connection").
# Needs root (unshare -n). stdout: one JSON line per scale (cloud-load's
# fanout line with "config", the sizes and what the machine showed: the
# lowest MemAvailable, the most TCP sockets and their memory, conntrack);
# progress on stderr. Not part of `make bench` runs by default (too long):
# bench/run.sh --million runs it.
#
# What it sets, inside its own network namespace only: ulimit -n to the
# hard limit, ip_local_port_range 1024-65535, somaxconn and
# tcp_max_syn_backlog 65535, tcp_tw_reuse. Global limits it reads and does
# not change: fs.file-max (two sockets per connection on loopback).
set -eu
scales=50000,200000,1000000
per_proc=15000
per_worker=15000
ttl=60
limit=600
while [ $# -gt 0 ]; do
    case $1 in
    --clients) scales=$2; shift ;;
    --per-proc) per_proc=$2; shift ;;
    --per-worker) per_worker=$2; shift ;;
    --presence-ttl) ttl=$2; shift ;;
    --limit) limit=$2; shift ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "million.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ "${MILLION_NETNS:-}" != 1 ]; then
    exec unshare -n env MILLION_NETNS=1 sh "$0" --clients "$scales" --per-proc "$per_proc" \
        --per-worker "$per_worker" --presence-ttl "$ttl" --limit "$limit" "$build"
fi
ip link set lo up
ulimit -n "$(ulimit -Hn)"
sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=65535 \
    net.ipv4.tcp_max_syn_backlog=65535 net.ipv4.tcp_tw_reuse=1 2>/dev/null ||
    echo "million.sh: some sysctls could not be set" >&2
cloud="$build/porthole-cloud"
gen="$build/cloud-load"
for f in "$cloud" "$gen"; do
    [ -x "$f" ] || { echo "million.sh: $f is missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/million.XXXXXX)
server_pid="" sampler_pid=""
port=3001

stop_pid() { # pid: TERM, then KILL after 20 s
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    trap - INT TERM EXIT
    stop_pid "$sampler_pid"
    stop_pid "$server_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# The machine every 2 s: MemAvailable (kB), TCP sockets in use and their
# memory (pages), conntrack entries (-1: no conntrack in this namespace).
sample() {
    while :; do
        avail=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
        tcp=$(awk '/^TCP:/ {print $3, $NF}' /proc/net/sockstat)
        ct=$(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo -1)
        files=$(awk '{print $1}' /proc/sys/fs/file-nr)
        echo "$avail $tcp $ct $files"
        sleep 2
    done
}

# The server's processes: the master, its workers and redis-server.
server_args() {
    out="--server-pid $server_pid"
    for c in $(cat "/proc/$server_pid/task/$server_pid/children" 2>/dev/null); do
        out="$out --server-pid $c"
    done
    echo "$out"
}

run_scale() { # N
    n=$1
    procs=$(( (n + per_proc - 1) / per_proc ))
    workers=$(( (n + per_worker - 1) / per_worker + 1 ))
    # About 2,000 handshakes in flight in all: more only queue at the
    # server, past the generator's 20-s connect timeout.
    window=$((2000 / procs))
    [ "$window" -ge 16 ] || window=16
    echo "million.sh: $n clients: $workers server workers, $procs generator processes" >&2
    "$cloud" --bind 127.0.0.1 --port $port --web-root "$root/web" --workers "$workers" \
        --rate-limit 0 --max-connections 19500 --max-connections-per-ip 0 \
        --max-new-connections-per-ip 0 --register-timeout 600 --presence-ttl "$ttl" \
        --ping-interval 300 --ws-rx-chunk 256 --log-level warn \
        2>"$tmp/server.log" &
    server_pid=$!
    i=0
    until curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"status":"ok"'; do
        i=$((i + 1))
        if [ $i -gt 600 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "{\"config\":\"million\",\"clients_target\":$n,\"error\":\"porthole-cloud did not start\"}"
            tail -n 5 "$tmp/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    # Every worker forked (and redis-server), then a moment to listen.
    i=0
    while [ "$(wc -w < "/proc/$server_pid/task/$server_pid/children")" -le "$workers" ] &&
        [ $i -lt 600 ]; do
        sleep 0.1; i=$((i + 1))
    done
    sleep 3
    sample > "$tmp/samples" &
    sampler_pid=$!
    t0=$(date +%s)
    # shellcheck disable=SC2046 # server_args prints separate words
    timeout -k 10 "$limit" "$gen" fanout --port $port $(server_args) --procs "$procs" \
        --clients "$n" --rounds 2 --source 127.0.1.1 --timeout $((limit - 60)) \
        --connect-window "$window" >"$tmp/out" 2>"$tmp/gen.log" || true
    t1=$(date +%s)
    stop_pid "$sampler_pid"
    sampler_pid=""
    line=$(tail -n 1 "$tmp/out")
    extra=$(awk -v n="$n" -v w="$workers" -v p="$procs" -v wall=$((t1 - t0)) '
        NR == 1 || $1 < minav { minav = $1 }
        $2 > tcp { tcp = $2 } $3 > mem { mem = $3 } $4 > ct { ct = $4 } $5 > files { files = $5 }
        END { printf "\"config\":\"million\",\"clients_target\":%d,\"server_workers\":%d,", n, w
              printf "\"gen_procs\":%d,\"wall_s\":%d,\"mem_available_min_mb\":%d,", p, wall, minav / 1024
              printf "\"tcp_sockets_max\":%d,\"tcp_mem_max_mb\":%.1f,\"conntrack_max\":%d,", tcp, mem * 4 / 1024, ct
              printf "\"open_files_max\":%d", files }' "$tmp/samples")
    case $line in
    "{"*) echo "{$extra,${line#\{}" ;;
    *) echo "{$extra,\"error\":\"cloud-load gave no result (limit $limit s)\"}" ;;
    esac
    grep -v '^$' "$tmp/gen.log" | tail -n 3 >&2 || true
    if grep -q . "$tmp/server.log"; then
        # What the server logged, by kind (timestamps, pids, ids and
        # numbers dropped), with counts.
        echo "million.sh: server log, by kind:" >&2
        cut -d' ' -f2- "$tmp/server.log" | sed -e 's/[0-9][0-9]*/N/g' \
            -e 's/vm-N-[A-Za-z0-9_-]*/INSTANCE/g' | sort | uniq -c | sort -rn | head -n 12 >&2
    fi
    stop_pid "$server_pid"
    server_pid=""
    # The next scale only when this one registered at least 95% of its
    # clients (connections that took over the generator's 20-s connect
    # timeout count as failed, and are reported, not fatal).
    reg=$(echo "$line" | sed -n 's/.*"registered":\([0-9]*\).*/\1/p')
    [ -n "$reg" ] && [ "$reg" -ge $((n * 95 / 100)) ]
}

for n in $(echo "$scales" | tr ',' ' '); do
    run_scale "$n" || { echo "million.sh: stopped at $n clients" >&2; break; }
    sleep 5 # the sockets of this scale leave TIME_WAIT on other ports
done
