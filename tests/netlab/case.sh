#!/bin/bash
# case.sh - one case of the network lab (lab.sh): porthole-cloud and coturn
# on the public side, porthole-robot (simulated camera) behind one router,
# netlab-viewer behind the other. Only the cloud is configured with STUN and
# TURN (porthole.sh); the robot and the viewer take what it hands out.
#
# Usage: case.sh CASE [RUNS]      (root; builds its own lab through lab.sh run)
#   host          both LANs routed, no NAT or filter: host candidates win
#   srflx         both behind port-restricted cone NATs: video over srflx
#                 (or prflx) candidates, though TURN is handed out too;
#                 the viewer's router sees packets from the robot's router
#   relay         both behind symmetric NATs: video through a TURN relay
#   srflx-offer, relay-offer  as srflx and relay (same path assertions),
#                 the viewer making the offer (netlab-viewer --offer,
#                 create-session's offer; docs/PROTOCOL.md "The viewer
#                 offers"): it takes the cloud's servers from
#                 available-robots, the robot answers and never offers.
#                 srflx-offer's viewer holds the robot's relayed candidates
#                 250 ms (--relay-hold: libnice, controlling, nominated the
#                 robot's relay before the direct pair in 3 of 9 sessions)
#   relay-tcp     viewer behind the UDP-blocking router, the cloud hands out
#                 TURN over UDP and TCP: relayed over TCP 3478
#   relay-tls     viewer behind the firewall that lets only TCP 443 out, the
#                 cloud hands out every TURN URL: relayed over TLS on 443
#                 (the cloud listens on 443 too, as it must for such a viewer)
#   relay-forced  both behind cone NATs, the viewer forces relay (its
#                 ice-transport-policy, as ?relay=1 does): video flows and
#                 not one packet from the robot's router reaches the
#                 viewer's router (an nftables counter there)
#   turn-refused  viewer behind the UDP-blocking router, the cloud signs
#                 TURN credentials with a secret coturn does not know:
#                 coturn refuses them (401), the session ends with an error
#                 naming the cause, the cloud keeps running
#   relay-long    as relay, with TURN credentials that expire 60 s after
#                 they were handed out (--turn-ttl 60) and coturn staling
#                 its nonces every 15 s: the relayed video keeps playing
#                 for 75 s, past the expiry (coturn checks a REST
#                 credential's time when an allocation is made, not for the
#                 allocation's life). Refreshes after the expiry (TURN
#                 permissions every 5 min, allocations every 10) are not
#                 reached in this time: docs/DEPLOY.md
#   cloud-kill    cone NATs; porthole-cloud is killed (SIGKILL) while the
#                 video plays: frames keep coming for 8 s, and the robot
#                 registers again once the cloud is back
#   browser-srflx as srflx, the viewer being the web viewer in headless
#                 Chromium (browser.mjs): session.stats() and the overlay
#                 say srflx (or prflx) over udp
#   browser-relay as relay, in Chromium: candidateType relay (through the
#                 viewer's TURN allocation or the robot's)
#   browser-relay-forced  as relay-forced, in Chromium with ?relay=1: the
#                 viewer's end is relayed, relayProtocol udp (or tcp: Chromium
#                 keeps whichever allocation answers first, under load now and
#                 then the TCP one), turnServer the lab's; no packet from the
#                 robot's router reaches the viewer's.
#                 With ?offer=0 (viewerOffers false): the robot offers, the
#                 flow of older viewers; every other browser-* case has the
#                 viewer offer (the default)
#   browser-relay-restart  viewer behind a symmetric NAT, in Chromium with
#                 ?relay=1, TURN credentials that expire 20 s after they
#                 were handed out (--turn-ttl 20): 22 s after Watch the
#                 viewer's router forgets its UDP mappings (its TCP link to
#                 the cloud keeps its own), so the relay allocation is lost
#                 and ICE restarts (porthole.js offers again with new ICE
#                 credentials, the robot answers); porthole.js fetches fresh credentials
#                 (GET /api/ice-servers) before it gathers again, and the
#                 video resumes over the relay, coturn having allocated
#                 with the fresh (http-) credentials
# RUNS (default 1) sessions one after another, each a fresh viewer against
# the same robot (video cases only); each run's figures are printed
# (netlab-viewer's line), then a summary of the first-frame times.
#
# Binaries: PORTHOLE_CLOUD, PORTHOLE_ROBOT and NETLAB_VIEWER, or else those
# of build/ next to tests/ (and PORTHOLE_WEB_ROOT, or web/). NETLAB_ROBOT_ARGS
# and NETLAB_VIEWER_ARGS add flags to the robot and to each viewer;
# NETLAB_LOSS=PCT drops that share of the packets both routers forward and
# NETLAB_RATE=KBIT shapes both routers' WAN links (lab.sh loss, shape).
# NETLAB_LOGS=DIR keeps the lab's logs of a video or browser-* case there.
# Exit status: 0 when the case behaved as described, 1 when not, 77 when the
# lab cannot run here (not root, or turnserver, nft, conntrack, openssl or
# curl missing; for browser-*, node, chromium or playwright-core missing),
# with the reason on stdout.
set -u

here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:-}
runs=${2:-1}
# Per case: the routers (robot viewer), what the cloud hands out
# (porthole.sh nl_cloud_ice), the viewer's own flags and the ICE path
# expected (netlab-viewer's path="LOCAL -> REMOTE").
viewer_args=()
tcp=""  # relayed over TCP: the TURN port the viewer's one TCP link must go to
case "$case_name" in
host) kinds="open open" ice=full expect='^host/udp .* -> host/udp ' ;;
srflx) kinds="cone cone" ice=full expect='^(srflx|prflx)/udp .* -> (srflx|prflx)/udp ' ;;
relay) kinds="symmetric symmetric" ice=full expect='relay/udp' ;;
srflx-offer)
    kinds="cone cone" ice=full expect='^(srflx|prflx)/udp .* -> (srflx|prflx)/udp '
    viewer_args=(--offer --relay-hold 250)
    ;;
relay-offer) kinds="symmetric symmetric" ice=full expect='relay/udp' viewer_args=(--offer) ;;
relay-tcp) kinds="cone udpblock" ice=no-tls expect='^relay/udp [^ ]* via turn-tcp' tcp=3478 ;;
relay-tls) kinds="cone tcp443" ice=full expect='^relay/udp [^ ]* via turn-tcp' tcp=443 ;;
relay-forced) kinds="cone cone" ice=full expect='^relay/udp' viewer_args=(--relay-only) ;;
turn-refused) kinds="cone udpblock" ice=forged expect= ;;
relay-long)
    kinds="symmetric symmetric" ice=full expect='relay/udp'
    export NETLAB_TURN_ARGS="--stale-nonce=15 --verbose"
    export NETLAB_CLOUD_ARGS="--turn-ttl 60"
    ;;
cloud-kill) kinds="cone cone" ice=full expect='^(srflx|prflx)/udp .* -> (srflx|prflx)/udp ' ;;
browser-srflx) kinds="cone cone" ice=full expect=srflx ;;
browser-relay) kinds="symmetric symmetric" ice=full expect=relay ;;
browser-relay-forced) kinds="cone cone" ice=full expect=relay viewer_args=(--relay --robot-offers) ;;
browser-relay-restart)
    kinds="cone symmetric" ice=full expect=relay
    viewer_args=(--relay --change-after 22 --change "ip netns exec viewer-nat conntrack -D -p udp")
    export NETLAB_CLOUD_ARGS="--turn-ttl 20" NETLAB_TURN_ARGS="--verbose"
    ;;
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
    # shellcheck source=tests/netlab/lab.sh
    . "$here/lab.sh"
    case "$case_name" in
    browser-*) lab_ready browser || exit 77 ;;
    *) lab_ready || exit 77 ;;
    esac
    # shellcheck disable=SC2086
    exec "$here/lab.sh" run $kinds -- "$0" "$case_name" "$runs"
fi

# ---- inside the lab ----
[ "$case_name" = relay-tls ] && export NETLAB_CLOUD_PORT=443
# shellcheck source=tests/netlab/lab.sh
. "$here/lab.sh"
# shellcheck source=tests/netlab/porthole.sh
. "$here/porthole.sh"
nl_bins || exit 1

fail()
{
    echo "case=$case_name FAILED: $*"
    nl_show_logs
    exit 1
}

if [ -n "${NETLAB_LOSS:-}" ]; then
    lab_loss robot "$NETLAB_LOSS" && lab_loss viewer "$NETLAB_LOSS" || exit 1
fi
if [ -n "${NETLAB_RATE:-}" ]; then
    lab_shape robot "$NETLAB_RATE" && lab_shape viewer "$NETLAB_RATE" || exit 1
fi
# What reaches the viewer's router from the robot's router (a direct path)
# and from the TURN server (a relayed one).
if ! lab_count viewer from_robot "$LAB_RNAT_WAN" || ! lab_count viewer from_turn "$LAB_TURN_IP"; then
    fail "cannot count packets on the viewer's router"
fi
nl_start_cloud "$ice" || fail "porthole-cloud did not start"
# shellcheck disable=SC2086
nl_start_robot ${NETLAB_ROBOT_ARGS:-} || fail "porthole-robot did not register"
# The robot must have been handed the servers, not configured with them.
[ "$ice" = none ] || grep -q "registered as" "$NETLAB_DIR/robot.log" || fail "no registration"

# field NAME LINE: the value of NAME=... (quoted or not) in a viewer line.
field()
{
    grep -o " $1=\"[^\"]*\"\| $1=[^ \"]*" <<<" $2" | head -n 1 | sed 's/^ [^=]*=//; s/^"//; s/"$//'
}

# Sessions one after another; each must decode video over the expected path.
case_video()
{
    local failed=0 i line rc path times=()
    for i in $(seq "$runs"); do
        # shellcheck disable=SC2086
        line=$(nl_viewer "${viewer_args[@]}" --frames 30 --timeout 30 \
            ${NETLAB_VIEWER_ARGS:-} 2>"$NETLAB_DIR/viewer.err")
        rc=$?
        echo "case=$case_name run=$i $line"
        path=$(field path "$line")
        if [ "$rc" != 0 ] || ! grep -Eq "$expect" <<<"$path"; then
            echo "case=$case_name run=$i FAILED: exit $rc, path '$path' (expected /$expect/)"
            cat "$NETLAB_DIR/viewer.err"
            failed=1
        elif ! grep -q '^cloud ' <<<"$(field ice "$line")" && [ "$ice" != none ]; then
            echo "case=$case_name run=$i FAILED: the viewer did not use the cloud's iceServers"
            failed=1
        elif [ -n "$tcp" ] && ! tr , '\n' <<<"$(field tcp "$line")" |
            awk -v want="$LAB_TURN_IP:$tcp" '$0 != want { bad = 1 } END { exit bad || !NR }'; then
            echo "case=$case_name run=$i FAILED: TCP links '$(field tcp "$line")', expected only to the TURN server's port $tcp"
            failed=1
        else
            times+=("$(field click_ms "$line")")
        fi
        sleep 0.3
    done
    if [ ${#times[@]} -gt 0 ]; then
        printf '%s\n' "${times[@]}" | sort -n | awk -v c="$case_name" '
            { v[NR] = $1 }
            END {
                med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "case=%s click_to_first_frame_ms: runs=%d median=%.0f min=%.0f max=%.0f\n",
                    c, NR, med, v[1], v[NR]
            }'
    fi
    local direct relayed
    direct=$(lab_counted viewer from_robot)
    relayed=$(lab_counted viewer from_turn)
    echo "case=$case_name viewer's router received: $direct packets from the robot's router, $relayed from the TURN server"
    case "$case_name" in
    srflx | srflx-offer)
        # The control of relay-forced's count: a direct path is counted.
        [ "${direct:-0}" -gt 100 ] || { echo "case=$case_name FAILED: no direct packets counted"; failed=1; }
        ;;
    relay-forced)
        [ "${direct:-1}" = 0 ] ||
            { echo "case=$case_name FAILED: the robot sent $direct packets straight to the viewer's router"; failed=1; }
        # The control that the counter counts: the video came through it.
        # Over TURN-over-TCP (libnice keeps whichever of its allocations
        # answers first) TCP segments carry several packets each: 30 frames
        # came in 93 segments in one CI run, against hundreds of UDP packets.
        local least=100
        grep -q ' via turn-tcp ' <<<"$path" && least=30
        [ "${relayed:-0}" -ge "$least" ] ||
            { echo "case=$case_name FAILED: only ${relayed:-0} packets came through the relay (path '$path')"; failed=1; }
        ;;
    esac
    [ "$failed" = 0 ] || nl_show_logs
    if [ -n "${NETLAB_LOGS:-}" ]; then # keep the lab's logs (cloud, robot, coturn)
        mkdir -p "$NETLAB_LOGS" && cp "$NETLAB_DIR"/*.log "$NETLAB_LOGS"/ 2>/dev/null
    fi
    return "$failed"
}

# Refused credentials: no video, a clear error, coturn said 401, the cloud
# still serves.
case_refused()
{
    local line rc err
    line=$(nl_viewer --frames 30 --timeout 30 2>"$NETLAB_DIR/viewer.err")
    rc=$?
    echo "case=$case_name $line"
    err=$(field error "$line")
    [ "$rc" != 0 ] || fail "the viewer got video with refused credentials"
    grep -q "TURN allocation refused" <<<"$err" || fail "the error does not name the cause: '$err'"
    # coturn's words when a TURN REST credential does not match its secret.
    local refusals
    refusals=$(grep -c "check_stun_auth: Cannot find credentials of user <[0-9]*:client-" \
        "$NETLAB_DIR/turnserver.log")
    [ "$refusals" -gt 0 ] || fail "coturn did not log a refusal of the viewer's credentials"
    echo "case=$case_name coturn refused the viewer's credentials $refusals times"
    if ! kill -0 "$NL_CLOUD_PID" 2>/dev/null || ! nl_health >/dev/null; then
        fail "porthole-cloud is not running any more"
    fi
    echo "case=$case_name the cloud still answers /health"
    return 0
}

# SIGKILL the cloud while video plays; bring it back after 3 s.
case_cloud_kill()
{
    local out=$NETLAB_DIR/viewer.out i line
    nl_viewer --frames 30 --timeout 30 --play 10 >"$out" 2>"$NETLAB_DIR/viewer.err" &
    local vpid=$!
    for i in $(seq 300); do
        grep -q '^event=frames' "$out" && break
        kill -0 "$vpid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^event=frames' "$out" || { wait "$vpid"; cat "$out"; fail "no video before the kill"; }
    kill -KILL "$NL_CLOUD_PID"
    echo "case=$case_name porthole-cloud killed (SIGKILL) while the video plays"
    sleep 3
    nl_start_cloud "$ice" || fail "porthole-cloud did not start again"
    nl_wait_registered 2 15 || fail "the robot did not register again"
    echo "case=$case_name the robot registered again"
    wait "$vpid"
    local rc=$?
    line=$(tail -n 1 "$out")
    echo "case=$case_name $line"
    [ "$rc" = 0 ] || { cat "$NETLAB_DIR/viewer.err"; fail "the video stopped (exit $rc)"; }
    local closed last after
    closed=$(field ws_closed_ms "$line")
    last=$(field last_frame_ms "$line")
    after=$(field frames_after_close "$line")
    awk -v c="$closed" -v l="$last" -v n="$after" 'BEGIN { exit !(c > 0 && l - c >= 7000 && n >= 150) }' ||
        fail "frames did not keep coming after the cloud died (closed at $closed ms, last frame at $last ms, $after frames after)"
    echo "case=$case_name $after frames in the $(((${last%.*} - ${closed%.*}) / 1000)) s after the cloud died"
    return 0
}

# The web viewer in Chromium, in the viewer's namespace (browser.mjs).
case_browser()
{
    local rc
    node "$here/browser.mjs" --cloud "http://$LAB_CLOUD_IP:$NL_CLOUD_PORT/" --robot "$NL_ROBOT_ID" \
        --netns viewer --expect "$expect" --runs "$runs" "${viewer_args[@]}" |
        sed "s/^/case=$case_name /"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || fail "the web viewer did not play over a $expect path"
    if [ "$case_name" = browser-relay-forced ]; then
        local direct
        direct=$(lab_counted viewer from_robot)
        [ "${direct:-1}" = 0 ] || fail "the robot sent $direct packets straight to the viewer's router"
        echo "case=$case_name no packet from the robot's router reached the viewer's router"
    fi
    if [ "$case_name" = browser-relay-restart ]; then
        # coturn's words for an allocation (--verbose) with the credentials
        # of GET /api/ice-servers: only the restart asks for those.
        local fresh
        fresh=$(grep -c 'username=<[0-9]*:http-' "$NETLAB_DIR/turnserver.log")
        [ "$fresh" -gt 0 ] || fail "coturn saw no request with fresh (http-) credentials after the restart"
        echo "case=$case_name coturn took fresh credentials in $fresh requests after the ICE restart"
    fi
    if [ -n "${NETLAB_LOGS:-}" ]; then # keep the lab's logs (cloud, robot, coturn)
        mkdir -p "$NETLAB_LOGS" && cp "$NETLAB_DIR"/*.log "$NETLAB_LOGS"/ 2>/dev/null
    fi
    return 0
}

# A relayed session that outlives its TURN credentials (relay-long).
case_long()
{
    local line rc
    line=$(nl_viewer --frames 30 --timeout 30 --play 75 2>"$NETLAB_DIR/viewer.err")
    rc=$?
    echo "case=$case_name $line"
    grep -Eq "$expect" <<<"$(field path "$line")" || fail "the session was not relayed"
    [ "$rc" = 0 ] || { cat "$NETLAB_DIR/viewer.err"; fail "the video stopped (exit $rc)"; }
    local expiry now
    expiry=$(grep -o 'username=<[0-9]*:client-' "$NETLAB_DIR/turnserver.log" | head -n 1 | grep -o '[0-9][0-9]*')
    now=$(date +%s)
    [ -n "$expiry" ] && [ "$now" -gt "$expiry" ] ||
        fail "the viewer's TURN credential (expiry '${expiry:-none}') had not expired by the end ($now)"
    echo "case=$case_name $(field play_frames "$line") frames in 75 s; the viewer's TURN credential expired $((now - expiry)) s before the end"
    return 0
}

case "$case_name" in
turn-refused) case_refused ;;
relay-long) case_long ;;
cloud-kill) case_cloud_kill ;;
browser-*) case_browser ;;
*) case_video ;;
esac
