#!/bin/bash
# porthole.sh - porthole-cloud and porthole-robot in the network lab, set up
# the way a deployment is: only the cloud knows the STUN and TURN servers
# (--stun-urls, --turn-urls, --turn-secret) and hands them to the robot and
# to every viewer; nothing is configured by hand on either. Sourced by
# case.sh and bench/netlab.sh inside `lab.sh run`, after lab.sh.
#
#   nl_bins                   finds the binaries (PORTHOLE_CLOUD,
#                             PORTHOLE_ROBOT, NETLAB_VIEWER, or build/)
#   nl_cloud_ice MODE         sets NL_CLOUD_ICE, the cloud's ICE flags:
#                             full     STUN, TURN over UDP and TCP on 3478 and
#                                      TLS on 443, the lab's coturn secret
#                             no-tls   the same without turns:
#                             forged   full, with a secret coturn does not
#                                      know (every credential is refused)
#                             stun     STUN only
#                             none     no STUN, no TURN
#   nl_start_cloud MODE       starts porthole-cloud on 203.0.113.10, port
#                             NETLAB_CLOUD_PORT or 3001 (log: cloud.log; pid
#                             in NL_CLOUD_PID)
#   nl_start_robot [ARGS...]  starts porthole-robot (id labbot) behind its
#                             router, with no ICE flags, and waits until it
#                             registered (log: robot.log; NL_ROBOT_PID)
#   nl_wait_registered N [S]  waits up to S seconds (10) until the robot
#                             logged its Nth registration
#   nl_pid NAME               the pid of what lab_spawn started as NAME
#   nl_health                 the cloud's GET /health (fails when it is down)
#   nl_viewer ARGS...         runs netlab-viewer in the viewer namespace
#                             against labbot (stdout: its report)
#   nl_show_logs              the last lines of every log, for failures
# Every wait is bounded.

# Set here, used by the scripts that source this file:
# shellcheck disable=SC2034
NL_ROBOT_ID=labbot
NL_CLOUD_PORT=${NETLAB_CLOUD_PORT:-3001}
NL_CLOUD_URL="ws://$LAB_CLOUD_IP:$NL_CLOUD_PORT/ws"
NL_STUN_URLS="stun:$LAB_TURN_IP:$LAB_TURN_PORT"
NL_TURN_UDP="turn:$LAB_TURN_IP:$LAB_TURN_PORT?transport=udp"
NL_TURN_TCP="turn:$LAB_TURN_IP:$LAB_TURN_PORT?transport=tcp"
NL_TURNS="turns:$LAB_TURN_IP:$LAB_TURN_TLS_PORT?transport=tcp"

nl_bins()
{
    local repo
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    NL_CLOUD_BIN=${PORTHOLE_CLOUD:-$repo/build/porthole-cloud}
    NL_ROBOT_BIN=${PORTHOLE_ROBOT:-$repo/build/porthole-robot}
    NL_VIEWER_BIN=${NETLAB_VIEWER:-$repo/build/netlab-viewer}
    NL_WEB_ROOT=${PORTHOLE_WEB_ROOT:-$repo/web}
    local bin
    for bin in "$NL_CLOUD_BIN" "$NL_ROBOT_BIN" "$NL_VIEWER_BIN"; do
        [ -x "$bin" ] || { echo "porthole.sh: no executable $bin (build first)"; return 1; }
    done
}

nl_cloud_ice()
{
    local turn="$NL_TURN_UDP,$NL_TURN_TCP,$NL_TURNS" secret=$LAB_TURN_SECRET
    case "$1" in
    full) ;;
    no-tls) turn="$NL_TURN_UDP,$NL_TURN_TCP" ;;
    forged) secret="forged-$LAB_TURN_SECRET" ;;
    stun) NL_CLOUD_ICE=(--stun-urls "$NL_STUN_URLS"); return 0 ;;
    none) NL_CLOUD_ICE=(); return 0 ;;
    *) echo "porthole.sh: no ICE mode '$1' (full, no-tls, forged, stun, none)"; return 1 ;;
    esac
    NL_CLOUD_ICE=(--stun-urls "$NL_STUN_URLS" --turn-urls "$turn" --turn-secret "$secret")
}

nl_start_cloud()
{
    nl_cloud_ice "${1:-full}" || return 1
    # --insecure-open: the lab is about paths, not identity (docs/SECURITY.md);
    # a cloud on a public address refuses to run open without it.
    lab_spawn pub cloud "$NL_CLOUD_BIN" --bind "$LAB_CLOUD_IP" --port "$NL_CLOUD_PORT" \
        --insecure-open --web-root "$NL_WEB_ROOT" "${NL_CLOUD_ICE[@]}" ${NETLAB_CLOUD_ARGS:-} \
        >/dev/null || return 1
    # shellcheck disable=SC2034 # for the scripts that source this file
    NL_CLOUD_PID=$(nl_pid cloud)
    lab_wait_port pub "$LAB_CLOUD_IP" "$NL_CLOUD_PORT"
}

# nl_pid NAME: the pid of the last process lab_spawn started as NAME.
nl_pid()
{
    awk -v n="$1" '$3 == n { p = $1 } END { print p }' "$NETLAB_DIR/pids"
}

# nl_health: porthole-cloud's GET /health, from the internet side.
nl_health()
{
    curl -sf --max-time 2 "http://$LAB_CLOUD_IP:$NL_CLOUD_PORT/health"
}

nl_wait_registered()
{
    local want=$1 _
    for _ in $(seq $((${2:-10} * 10))); do
        [ "$(grep -c "registered as $NL_ROBOT_ID" "$NETLAB_DIR/robot.log" 2>/dev/null)" -ge "$want" ] &&
            return 0
        sleep 0.1
    done
    echo "porthole.sh: the robot did not register (time $want)"
    return 1
}

nl_start_robot()
{
    lab_spawn robot robot "$NL_ROBOT_BIN" --cloud-url "$NL_CLOUD_URL" \
        --robot-id "$NL_ROBOT_ID" --api-port 0 "$@" >/dev/null || return 1
    # shellcheck disable=SC2034 # for the scripts that source this file
    NL_ROBOT_PID=$(nl_pid robot)
    nl_wait_registered 1
}

nl_viewer()
{
    lab_exec viewer "$NL_VIEWER_BIN" --cloud "$NL_CLOUD_URL" --robot "$NL_ROBOT_ID" \
        --address "$LAB_VIEWER_IP" "$@"
}

nl_show_logs()
{
    local f
    for f in cloud robot turnserver; do
        echo "---- last lines of $f.log"
        tail -n 20 "$NETLAB_DIR/$f.log" 2>/dev/null
    done
}
