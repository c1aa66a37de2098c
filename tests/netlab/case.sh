#!/bin/bash
# case.sh - one session case of the network lab (lab.sh): porthole-cloud and
# coturn on the public side, porthole-robot (simulated camera) behind one
# router, netlab-viewer behind the other, with STUN and TURN given by hand
# on both sides. Runs RUNS sessions one after another, each with a fresh
# viewer process against the same robot, prints each run's figures
# (netlab-viewer's line) and a summary of the first-frame times.
#
# Usage: case.sh CASE [RUNS]      (root; builds its own lab through lab.sh run)
#   srflx      robot and viewer behind port-restricted cone NATs, STUN on
#              both sides: video must flow over srflx (or prflx) candidates
#   srflx-turn as srflx, with TURN over UDP on both sides as well: the
#              direct path must still win
#   relay      both behind symmetric NATs, TURN over UDP on both sides:
#              video must flow through a relay candidate
#   relay-tcp  robot behind a cone NAT, viewer behind the UDP-blocking
#              router, TURN over TCP 3478 for the viewer: relayed over TCP
#   relay-tls  as relay-tcp, with TURN over TLS on 443 (self-signed)
#   host       both LANs routed without NAT or filter: host candidates
#
# Binaries: PORTHOLE_CLOUD, PORTHOLE_ROBOT and NETLAB_VIEWER, or else those
# of build/ next to tests/ (and PORTHOLE_WEB_ROOT, or web/). NETLAB_ROBOT_ARGS and NETLAB_VIEWER_ARGS add
# flags to the robot and to each viewer;
# NETLAB_LOSS=PCT drops that share of the packets both routers forward and
# NETLAB_RATE=KBIT shapes both routers' WAN links (lab.sh loss, shape).
# Exit status: 0 when every run decoded video over the expected path, 1 when
# not, 77 when the lab cannot run here (not root, or turnserver, nft,
# conntrack or openssl missing), with the reason on stdout.
set -u

here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:-}
runs=${2:-1}
case "$case_name" in
srflx|srflx-turn) kinds="cone cone" ;;
relay) kinds="symmetric symmetric" ;;
relay-tcp|relay-tls) kinds="cone udpblock" ;;
host) kinds="open open" ;;
*)
    sed -n '/^# Usage/,/^# Binaries/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
case "$runs" in
''|*[!0-9]*) echo "case.sh: RUNS must be a number" >&2; exit 2 ;;
esac

# ---- outside the lab: check what it needs, then enter it ----
if [ ! -e /run/netlab/.private ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "SKIPPED: the network lab needs root (network namespaces, nftables)"
        exit 77
    fi
    for tool in turnserver nft conntrack openssl ip tc; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "SKIPPED: $tool is not installed"
            exit 77
        fi
    done
    # shellcheck disable=SC2086
    exec "$here/lab.sh" run $kinds -- "$0" "$case_name" "$runs"
fi

# ---- inside the lab ----
# shellcheck source=tests/netlab/lab.sh
. "$here/lab.sh"
repo=$(cd "$here/../.." && pwd)
build=$repo/build
cloud=${PORTHOLE_CLOUD:-$build/porthole-cloud}
robot=${PORTHOLE_ROBOT:-$build/porthole-robot}
viewer=${NETLAB_VIEWER:-$build/netlab-viewer}
for bin in "$cloud" "$robot" "$viewer"; do
    [ -x "$bin" ] || { echo "case.sh: no executable $bin (build first)"; exit 1; }
done
cloud_url="ws://$LAB_CLOUD_IP:3001/ws"
stun="stun://$LAB_TURN_IP:$LAB_TURN_PORT"

robot_ice=(--stun-server "$stun")
viewer_ice=(--stun "$stun")
expect='^(srflx|prflx)/udp .* -> (srflx|prflx)/udp '
case "$case_name" in
srflx-turn)
    robot_ice+=(--turn-server "$(lab_turn_url turn labbot)")
    viewer_ice+=(--turn "$(lab_turn_url turn viewer)")
    ;;
relay)
    robot_ice+=(--turn-server "$(lab_turn_url turn labbot)")
    viewer_ice+=(--turn "$(lab_turn_url turn viewer)")
    expect='relay/'
    ;;
relay-tcp)
    viewer_ice=(--turn "$(lab_turn_url turn-tcp viewer)")
    expect='^relay/'
    ;;
relay-tls)
    viewer_ice=(--turn "$(lab_turn_url turns viewer)")
    expect='^relay/'
    ;;
host)
    robot_ice=()
    viewer_ice=()
    expect='^host/udp .* -> host/udp '
    ;;
esac

show_logs()
{
    local f
    for f in cloud robot turnserver; do
        echo "---- last lines of $f.log"
        tail -n 15 "$NETLAB_DIR/$f.log" 2>/dev/null
    done
}

if [ -n "${NETLAB_LOSS:-}" ]; then
    lab_loss robot "$NETLAB_LOSS" && lab_loss viewer "$NETLAB_LOSS" || exit 1
fi
if [ -n "${NETLAB_RATE:-}" ]; then
    lab_shape robot "$NETLAB_RATE" && lab_shape viewer "$NETLAB_RATE" || exit 1
fi
lab_spawn pub cloud "$cloud" --bind "$LAB_CLOUD_IP" --port 3001 \
    --web-root "${PORTHOLE_WEB_ROOT:-$repo/web}" >/dev/null
lab_wait_port pub "$LAB_CLOUD_IP" 3001 || { show_logs; exit 1; }
# shellcheck disable=SC2086
lab_spawn robot robot "$robot" --cloud-url "$cloud_url" --robot-id labbot --api-port 0 \
    "${robot_ice[@]}" ${NETLAB_ROBOT_ARGS:-} >/dev/null
registered=0
for _ in $(seq 100); do
    if grep -q "registered as labbot" "$NETLAB_DIR/robot.log" 2>/dev/null; then
        registered=1
        break
    fi
    sleep 0.1
done
[ "$registered" = 1 ] || { echo "case.sh: the robot did not register"; show_logs; exit 1; }

failed=0
times=()
for i in $(seq "$runs"); do
    # shellcheck disable=SC2086
    line=$(lab_exec viewer "$viewer" --cloud "$cloud_url" --robot labbot \
        --address "$LAB_VIEWER_IP" "${viewer_ice[@]}" --frames 30 --timeout 30 \
        ${NETLAB_VIEWER_ARGS:-} 2>"$NETLAB_DIR/viewer.err")
    rc=$?
    echo "case=$case_name run=$i $line"
    path=$(sed -n 's/.*path="\([^"]*\)".*/\1/p' <<<"$line")
    ff=$(sed -n 's/.*first_frame_ms=\([-0-9.]*\).*/\1/p' <<<"$line")
    if [ "$rc" != 0 ] || ! grep -Eq "$expect" <<<"$path"; then
        echo "case=$case_name run=$i FAILED: exit $rc, path '$path' (expected /$expect/)"
        cat "$NETLAB_DIR/viewer.err"
        failed=1
    else
        times+=("$ff")
    fi
    sleep 0.3
done
if [ ${#times[@]} -gt 0 ]; then
    printf '%s\n' "${times[@]}" | sort -n | awk -v c="$case_name" '
        { v[NR] = $1 }
        END {
            med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "case=%s first_frame_ms: runs=%d median=%.0f min=%.0f max=%.0f\n",
                c, NR, med, v[1], v[NR]
        }'
fi
[ "$failed" = 0 ] || show_logs
exit "$failed"
