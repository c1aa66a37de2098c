#!/bin/bash
# restart.sh - the viewer's NAT changes under a running session (issue #12:
# "video resumes within 2 s by ICE restart"), in the network lab (lab.sh).
# porthole-cloud and coturn on the public side; porthole-robot (simulated
# camera; STUN, and TURN over UDP) behind a port-restricted cone NAT;
# netlab-restart-viewer (STUN) behind another. Once video flows, the
# viewer's router changes, and the viewer measures how long the picture
# stood still.
#
# Usage: restart.sh CASE      (root; builds its own lab through lab.sh run)
#   flush    the viewer's router forgets every NAT mapping (conntrack
#            flush): the mappings come back with the same ports at the
#            viewer's next packet
#   rebind   the viewer's router forgets its UDP mappings and turns
#            symmetric: every new mapping gets a new port, the direct path is
#            dead for good, and only an ICE restart finds another one
#            (through the robot's TURN relay). The viewer's TCP connection to
#            the cloud keeps its mapping.
#
# Binaries: PORTHOLE_CLOUD, PORTHOLE_ROBOT and NETLAB_RESTART_VIEWER, or else
# those of build/ next to tests/ (and PORTHOLE_WEB_ROOT, or web/).
# NETLAB_RESUME_MAX_MS bounds the longest freeze of the video: 3000 ms by
# default, a margin over the 2 s goal (issue #12) for a loaded machine (on
# this lab: flush 0.2 to 1.0 s, rebind 1.4 to 1.6 s idle, up to 2.0 s while
# other builds ran); the figure is printed either way.
# Exit status: 0 when the video came back on the same session within the
# bound (for rebind: through at least one ICE restart), 1 when not, 77 when
# the lab cannot run here (not root, or turnserver, nft, conntrack or
# openssl missing), with the reason on stdout.
set -u

here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:-}
case "$case_name" in
flush|rebind) ;;
*)
    sed -n '/^# Usage/,/^# Binaries/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

# ---- outside the lab: check what it needs, then enter it ----
if [ ! -e /run/netlab/.private ]; then
    # shellcheck source=tests/netlab/lab.sh
    . "$here/lab.sh"
    lab_ready || exit 77
    exec "$here/lab.sh" run cone cone -- "$0" "$case_name"
fi

# ---- inside the lab ----
# shellcheck source=tests/netlab/lab.sh
. "$here/lab.sh"
repo=$(cd "$here/../.." && pwd)
build=$repo/build
cloud=${PORTHOLE_CLOUD:-$build/porthole-cloud}
robot=${PORTHOLE_ROBOT:-$build/porthole-robot}
viewer=${NETLAB_RESTART_VIEWER:-$build/netlab-restart-viewer}
max_gap=${NETLAB_RESUME_MAX_MS:-3000}
for bin in "$cloud" "$robot" "$viewer"; do
    [ -x "$bin" ] || { echo "restart.sh: no executable $bin (build first)"; exit 1; }
done
cloud_url="ws://$LAB_CLOUD_IP:3001/ws"
stun="stun://$LAB_TURN_IP:$LAB_TURN_PORT"
log=$NETLAB_DIR/rviewer.log

show_logs()
{
    local f
    for f in rviewer robot cloud; do
        echo "---- last lines of $f.log"
        tail -n 25 "$NETLAB_DIR/$f.log" 2>/dev/null
    done
}

# --insecure-open: a cloud on a public address refuses to run open without it.
lab_spawn pub cloud "$cloud" --bind "$LAB_CLOUD_IP" --port 3001 --insecure-open \
    --web-root "${PORTHOLE_WEB_ROOT:-$repo/web}" >/dev/null
lab_wait_port pub "$LAB_CLOUD_IP" 3001 || { show_logs; exit 1; }
lab_spawn robot robot "$robot" --cloud-url "$cloud_url" --robot-id labbot --api-port 0 \
    --stun-server "$stun" --turn-server "$(lab_turn_url turn labbot)" >/dev/null
registered=0
for _ in $(seq 100); do
    if grep -q "registered as labbot" "$NETLAB_DIR/robot.log" 2>/dev/null; then
        registered=1
        break
    fi
    sleep 0.1
done
[ "$registered" = 1 ] || { echo "restart.sh: the robot did not register"; show_logs; exit 1; }

# Not lab_exec: `ip netns exec` execs the viewer, so $! is the viewer's pid
# (the one SIGUSR1 must reach) and `wait` gives its exit status.
ip netns exec viewer "$viewer" --cloud "$cloud_url" --robot labbot --address "$LAB_VIEWER_IP" \
    --stun "$stun" --restart-after 500 --window 8 --timeout 30 >"$log" 2>&1 </dev/null &
vpid=$!
streaming=0
for _ in $(seq 300); do
    if grep -q '^streaming ' "$log" 2>/dev/null; then
        streaming=1
        break
    fi
    kill -0 "$vpid" 2>/dev/null || break
    sleep 0.1
done
[ "$streaming" = 1 ] || { echo "restart.sh: no video before the change"; show_logs; exit 1; }
sleep 1
echo "case=$case_name before: $(grep '^streaming ' "$log")"

case "$case_name" in
flush) lab_flush viewer >/dev/null 2>&1 ;;
rebind)
    # New UDP mappings symmetric, the old ones gone; the viewer's TCP
    # connection to the cloud keeps its mapping (as a carrier NAT whose UDP
    # timeout struck would): a new port for it would end the WebSocket, and
    # with it the session at the cloud.
    lab_router_rules symmetric >"$NETLAB_DIR/viewer-nat.nft" &&
        ip netns exec viewer-nat nft -f "$NETLAB_DIR/viewer-nat.nft" &&
        ip netns exec viewer-nat conntrack -D -p udp >/dev/null 2>&1
    ;;
esac
kill -USR1 "$vpid"
wait "$vpid"
rc=$?
line=$(grep '^session=' "$log" | tail -n 1)
echo "case=$case_name $line"

field()
{
    sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" <<<" $line"
}
gap=$(field max_gap_ms)
reanswers=$(field reanswers)
failed=0
if [ "$rc" != 0 ] || [ -z "$gap" ]; then
    echo "case=$case_name FAILED: the viewer exited $rc (video did not come back, or the session closed)"
    failed=1
elif [ "${gap%.*}" -gt "$max_gap" ]; then
    echo "case=$case_name FAILED: the video stood still for $gap ms (bound: $max_gap ms)"
    failed=1
elif [ "$case_name" = rebind ] && [ "${reanswers:-0}" -lt 1 ]; then
    echo "case=$case_name FAILED: the video came back without an ICE restart"
    failed=1
fi
[ "$failed" = 0 ] && echo "case=$case_name video stood still for at most $gap ms (goal: 2000 ms)"
grep -E 'ICE restart|is back|unreachable|closed|connect' "$NETLAB_DIR/robot.log" | sed 's/^/robot: /'
[ "$failed" = 0 ] || show_logs
exit "$failed"
