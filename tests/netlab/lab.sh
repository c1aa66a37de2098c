#!/bin/bash
# lab.sh - a lab of NATs and firewalls in network namespaces, for tests of
# ICE across the internet (issue #12). Nothing it builds can reach a real
# network: every namespace lives inside one private network namespace that
# has no link to the machine's own.
#
#   ┌───────────────────── outer namespace: the "internet" router ─────────────────────┐
#   │  pub 203.0.113.1/24         rwan 198.51.100.1/24           vwan 192.0.2.1/24      │
#   └─────┬───────────────────────────┬──────────────────────────────┬──────────────────┘
#         │ eth0                      │ wan 198.51.100.2             │ wan 192.0.2.2
#   [pub] 203.0.113.10 cloud    [robot-nat]                    [viewer-nat]
#         203.0.113.20 coturn         │ lan 100.64.1.1/24            │ lan 100.64.2.1/24
#         (3478 udp+tcp, 443 tls)     │                              │
#                                     │ eth0                         │ eth0
#                               [robot] 100.64.1.10            [viewer] 100.64.2.10
#
# Each router (robot-nat, viewer-nat) is one of these kinds:
#   cone       masquerade keeping ports: endpoint-independent mapping with
#              address-and-port-dependent filtering ("port-restricted cone");
#              unsolicited inbound packets are dropped, not answered.
#   symmetric  masquerade random,fully-random: a new public port for every
#              destination; inbound filtered as for cone.
#   firewall   no NAT (the LAN is routed): a stateful firewall that drops
#              every inbound new connection.
#   udpblock   cone, and every forwarded UDP packet except DNS (port 53) is
#              dropped: only TCP leaves (TURN over TCP, TLS on 443).
#   tcp443     udpblock, and TCP leaves only to port 443: the strict
#              corporate firewall (only TURN over TLS on 443 works).
#   open       no NAT, no filter: the LAN is routed and reachable.
# Every router also drops unsolicited packets to itself (an input chain),
# as home routers do; without it the kernel would answer them with ICMP
# port-unreachable, which changes ICE's behaviour.
#
# Usage (root):
#   lab.sh run ROBOT_KIND VIEWER_KIND [-- COMMAND...]
#       Makes the private namespaces (unshare -n -m -p, a tmpfs on /run),
#       builds the lab, starts coturn, runs COMMAND (default: a shell)
#       in the outer namespace, tears everything down and exits with
#       COMMAND's status. COMMAND can call the subcommands below (the path of
#       this script is in $NETLAB). The only entry point from outside.
#   Inside `run` (each refuses to work anywhere else):
#     lab.sh up ROBOT_KIND VIEWER_KIND   build the lab (after a down)
#     lab.sh down                        kill every lab process, remove the lab
#     lab.sh exec NS COMMAND...          run COMMAND in namespace NS (pub,
#                                        robot-nat, robot, viewer-nat, viewer, or
#                                        inet for the outer one)
#     lab.sh spawn NS NAME COMMAND...    start COMMAND in NS in the background,
#                                        output to $NETLAB_DIR/NAME.log; prints its pid
#     lab.sh turn-start                  (re)start coturn (up does it)
#     lab.sh turn-cred NAME [TTL]        print "USER PASSWORD": TURN REST credentials
#                                        (username EXPIRY:NAME, HMAC-SHA1, base64)
#     lab.sh turn-url SCHEME NAME        a turn:// or turns:// URL with fresh
#                                        credentials, percent-encoded for webrtcbin
#     lab.sh shape robot|viewer KBIT|off tc tbf both ways on that router's WAN
#     lab.sh loss robot|viewer PCT|off   drop PCT % of forwarded packets at random
#     lab.sh flush robot|viewer          forget the router's NAT mappings (conntrack)
#     lab.sh kind robot|viewer KIND      change a router's kind on the fly
#     lab.sh count robot|viewer NAME IP  count the packets from IP that reach
#                                        that router's WAN (before any filter)
#     lab.sh counted robot|viewer NAME   print how many the counter NAME saw
# Or source it (". lab.sh") inside `run` for the same functions as lab_up,
# lab_down, lab_exec, lab_spawn, lab_turn_cred, ... and the address
# variables below.
#
# Processes: every process in a lab namespace is ended by `down` (first
# TERM, then KILL after a bounded wait), whoever started it; `run` calls
# `down` on exit, even on a signal, and if it is killed outright the end of
# its PID namespace kills what is left. Every loop here is bounded.

# ---- addresses (documentation ranges; 100.64.0.0/10 for the LANs) ----
LAB_INET_PUB=203.0.113.1
LAB_CLOUD_IP=203.0.113.10
LAB_TURN_IP=203.0.113.20
LAB_INET_RWAN=198.51.100.1
LAB_RNAT_WAN=198.51.100.2
LAB_RNAT_LAN=100.64.1.1
LAB_ROBOT_IP=100.64.1.10
LAB_INET_VWAN=192.0.2.1
LAB_VNAT_WAN=192.0.2.2
LAB_VNAT_LAN=100.64.2.1
LAB_VIEWER_IP=100.64.2.10
LAB_TURN_PORT=3478
LAB_TURN_TLS_PORT=443
LAB_TURN_REALM=porthole.test
LAB_TURN_SECRET=${LAB_TURN_SECRET:-netlab-turn-secret}
NETLAB_DIR=/run/netlab

lab_die()
{
    echo "lab.sh: $*" >&2
    return 1
}

# lab_ready [browser]: outside the lab, whether this machine can run a
# case: root and the lab's tools, and with "browser" Node.js, Chromium and
# playwright-core too. Prints "SKIPPED: why" (a case then exits 77) and
# returns 1 when something is missing.
lab_ready()
{
    if [ "$(id -u)" != 0 ]; then
        echo "SKIPPED: the network lab needs root (network namespaces, nftables)"
        return 1
    fi
    local tool
    for tool in turnserver nft conntrack openssl ip tc curl unshare; do
        command -v "$tool" >/dev/null 2>&1 || { echo "SKIPPED: $tool is not installed"; return 1; }
    done
    [ "${1:-}" = browser ] || return 0
    command -v node >/dev/null 2>&1 || { echo "SKIPPED: node is not installed"; return 1; }
    [ -x /usr/bin/chromium ] || { echo "SKIPPED: /usr/bin/chromium is not installed"; return 1; }
    [ -d "$(dirname "${BASH_SOURCE[0]}")/../../node_modules/playwright-core" ] || {
        echo "SKIPPED: playwright-core is not installed (npm ci at the repository root)"
        return 1
    }
}

# True inside `run`'s private world: the marker only exists on the tmpfs
# that `run` mounted over /run in its own mount namespace.
lab_private()
{
    [ -e "$NETLAB_DIR/.private" ] || lab_die "not inside 'lab.sh run' (no $NETLAB_DIR/.private)"
}

lab_exec()
{
    local ns=$1
    shift
    if [ "$ns" = inet ]; then
        "$@"
    else
        ip netns exec "$ns" "$@"
    fi
}

# A veth pair: $1 in namespace $2 ("inet": the outer one), $3 in $4.
lab_veth()
{
    ip link add "$1" type veth peer name "$3" || return 1
    if [ "$2" != inet ]; then ip link set "$1" netns "$2" || return 1; fi
    if [ "$4" != inet ]; then ip link set "$3" netns "$4" || return 1; fi
    lab_exec "$2" ip link set "$1" up && lab_exec "$4" ip link set "$3" up
}

# The nftables rule set of a router of this kind. Written on several
# lines: nft 1.0.6 rejects a chain's body on one line after a rule.
lab_router_rules()
{
    local kind=$1 nat=""
    case "$kind" in
    cone|udpblock|tcp443) nat="oifname \"wan\" masquerade" ;;
    symmetric) nat="oifname \"wan\" masquerade random,fully-random" ;;
    firewall|open) ;;
    *) lab_die "unknown router kind '$kind' (cone, symmetric, firewall, udpblock, tcp443, open)"; return 1 ;;
    esac
    local udp="" tcp=""
    case "$kind" in udpblock|tcp443) udp="udp dport != 53 udp sport != 53 drop" ;; esac
    [ "$kind" = tcp443 ] && tcp="iifname \"lan\" tcp dport != 443 drop"
    local policy=drop
    [ "$kind" = open ] && policy=accept
    cat <<EOF
table ip lab
delete table ip lab
table ip lab {
    chain forward {
        type filter hook forward priority 0; policy $policy;
        $udp
        $tcp
        ct state established,related accept
        iifname "lan" accept
    }
    chain input {
        type filter hook input priority 0; policy $policy;
        ct state established,related accept
        iifname "lan" accept
        iifname "lo" accept
    }
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        $nat
    }
}
EOF
}

# lab_router SIDE KIND: (re)applies a router's rule set and routes.
lab_router()
{
    local side=$1 kind=$2 lan via
    case "$side" in
    robot) lan=100.64.1.0/24; via=$LAB_RNAT_WAN ;;
    viewer) lan=100.64.2.0/24; via=$LAB_VNAT_WAN ;;
    *) lab_die "no router '$side' (robot or viewer)"; return 1 ;;
    esac
    lab_router_rules "$kind" >"$NETLAB_DIR/$side-nat.nft" || return 1
    ip netns exec "$side-nat" nft -f "$NETLAB_DIR/$side-nat.nft" || return 1
    # A routed LAN (no NAT) is reachable from the internet; a NATed one not.
    case "$kind" in
    firewall|open) ip route replace "$lan" via "$via" ;;
    *) ip route del "$lan" 2>/dev/null; true ;;
    esac
    echo "$kind" >"$NETLAB_DIR/$side-nat.kind"
    ip netns exec "$side-nat" conntrack -F >/dev/null 2>&1
    return 0
}

# The links and addresses of the picture above, one command a line; stops
# at the first that fails. (Not `set -e`: bash ignores it inside a function
# called as `f || ...`.)
lab_build()
{
    local line
    while read -r line; do
        case "$line" in ''|'#'*) continue ;; esac
        eval "$line" || { lab_die "failed: $line"; return 1; }
    done <<EOF
ip link set lo up
echo 1 >/proc/sys/net/ipv4/ip_forward
ip netns add pub
ip netns add robot-nat
ip netns add robot
ip netns add viewer-nat
ip netns add viewer
# the public servers
lab_veth pub inet eth0 pub
ip addr add $LAB_INET_PUB/24 dev pub
ip -n pub addr add $LAB_CLOUD_IP/24 dev eth0
ip -n pub addr add $LAB_TURN_IP/24 dev eth0
ip -n pub route add default via $LAB_INET_PUB
# the routers' WAN side
lab_veth rwan inet wan robot-nat
lab_veth vwan inet wan viewer-nat
ip addr add $LAB_INET_RWAN/24 dev rwan
ip addr add $LAB_INET_VWAN/24 dev vwan
ip -n robot-nat addr add $LAB_RNAT_WAN/24 dev wan
ip -n viewer-nat addr add $LAB_VNAT_WAN/24 dev wan
ip -n robot-nat route add default via $LAB_INET_RWAN
ip -n viewer-nat route add default via $LAB_INET_VWAN
ip netns exec robot-nat sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
ip netns exec viewer-nat sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
# the LANs
lab_veth lan robot-nat eth0 robot
lab_veth lan viewer-nat eth0 viewer
ip -n robot-nat addr add $LAB_RNAT_LAN/24 dev lan
ip -n viewer-nat addr add $LAB_VNAT_LAN/24 dev lan
ip -n robot addr add $LAB_ROBOT_IP/24 dev eth0
ip -n viewer addr add $LAB_VIEWER_IP/24 dev eth0
ip -n robot route add default via $LAB_RNAT_LAN
ip -n viewer route add default via $LAB_VNAT_LAN
# loopback in each
ip -n pub link set lo up
ip -n robot-nat link set lo up
ip -n robot link set lo up
ip -n viewer-nat link set lo up
ip -n viewer link set lo up
EOF
}

lab_up()
{
    local rkind=${1:-cone} vkind=${2:-cone}
    lab_private || return 1
    [ -z "$(ip netns list)" ] || { lab_die "a lab is up already: lab.sh down first"; return 1; }
    # The outer namespace must hold nothing but lo: then no lab packet
    # has a way out of it.
    if ip -o link show | grep -vq ': lo:'; then
        lab_die "the outer namespace has links other than lo: refusing"
        return 1
    fi
    lab_router_rules "$rkind" >/dev/null && lab_router_rules "$vkind" >/dev/null || return 1
    lab_build || { lab_die "could not build the lab"; return 1; }
    lab_router robot "$rkind" && lab_router viewer "$vkind" || return 1
    lab_tls_cert && lab_turn_start
}

# lab_spawn NS NAME COMMAND...: starts COMMAND in the background in NS,
# with its output in $NETLAB_DIR/NAME.log. Prints the pid. `down` ends it.
lab_spawn()
{
    local ns=$1 name=$2
    shift 2
    lab_private || return 1
    if [ "$ns" = inet ]; then
        "$@" >"$NETLAB_DIR/$name.log" 2>&1 </dev/null &
    else
        ip netns exec "$ns" "$@" >"$NETLAB_DIR/$name.log" 2>&1 </dev/null &
    fi
    local pid=$!
    # Out of the shell's job table: `down` ends it, and its end is no news.
    disown "$pid" 2>/dev/null
    echo "$pid $ns $name" >>"$NETLAB_DIR/pids"
    echo "$pid"
}

# lab_wait_port NS IP PORT [TENTHS]: waits until something listens on TCP
# PORT in NS, on IP or on every address (default 5 s). Returns 1 on timeout.
lab_wait_port()
{
    local i
    for i in $(seq "${4:-50}"); do
        if lab_exec "$1" ss -Hltn "sport = :$3" 2>/dev/null |
            awk -v a="$2:$3" '$4 == a || $4 ~ /^(\*|0\.0\.0\.0|\[::\]):/ { ok = 1 } END { exit !ok }'; then
            return 0
        fi
        sleep 0.1
    done
    lab_die "nothing listens on $2:$3 in $1"
}

# A self-signed certificate for coturn's TLS listener on 443 (and for
# tests that want one); made once per lab.
lab_tls_cert()
{
    [ -s "$NETLAB_DIR/tls.crt" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=turn.porthole.test" -addext "subjectAltName=IP:$LAB_TURN_IP,IP:$LAB_CLOUD_IP" \
        -keyout "$NETLAB_DIR/tls.key" -out "$NETLAB_DIR/tls.crt" >/dev/null 2>&1 ||
        lab_die "openssl could not make a certificate"
}

# Debian's coturn on the public side: UDP and TCP on 3478, TLS on 443,
# TURN REST credentials (use-auth-secret). Log: $NETLAB_DIR/turnserver.log.
# NETLAB_TURN_ARGS adds flags (case.sh relay-long shortens lifetimes).
lab_turn_start()
{
    lab_private || return 1
    local old
    old=$(awk '$3 == "turnserver" { print $1 }' "$NETLAB_DIR/pids" 2>/dev/null)
    [ -n "$old" ] && lab_stop_pids "$old"
    lab_spawn pub turnserver turnserver -n --listening-ip="$LAB_TURN_IP" \
        --relay-ip="$LAB_TURN_IP" --listening-port="$LAB_TURN_PORT" \
        --tls-listening-port="$LAB_TURN_TLS_PORT" --cert="$NETLAB_DIR/tls.crt" \
        --pkey="$NETLAB_DIR/tls.key" --no-dtls --realm="$LAB_TURN_REALM" --no-cli \
        --fingerprint --log-file=stdout --simple-log --use-auth-secret \
        --static-auth-secret="$LAB_TURN_SECRET" --userdb="$NETLAB_DIR/turndb" \
        --pidfile="$NETLAB_DIR/turnserver.pid" --no-multicast-peers ${NETLAB_TURN_ARGS:-} \
        >/dev/null || return 1
    lab_wait_port pub "$LAB_TURN_IP" "$LAB_TURN_PORT" &&
        lab_wait_port pub "$LAB_TURN_IP" "$LAB_TURN_TLS_PORT"
}

# lab_turn_cred NAME [TTL]: prints "USERNAME PASSWORD" by the TURN REST
# scheme coturn's use-auth-secret checks. A negative TTL gives expired ones.
lab_turn_cred()
{
    local user pass
    user="$(($(date +%s) + ${2:-3600})):$1"
    pass=$(printf %s "$user" | openssl dgst -sha1 -hmac "$LAB_TURN_SECRET" -binary | base64)
    echo "$user $pass"
}

# Percent-encodes everything but letters and digits (webrtcbin unescapes
# the user and password of a turn:// URL; ':' '/' '+' '=' must not stay).
lab_urlencode()
{
    local s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case "$c" in
        [A-Za-z0-9]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf %s "$out"
}

# lab_turn_url SCHEME NAME [TTL]: turn (UDP 3478), turn-tcp (TCP 3478) or
# turns (TLS 443), with fresh credentials for NAME.
lab_turn_url()
{
    local cred user pass
    cred=$(lab_turn_cred "$2" "${3:-3600}")
    user=$(lab_urlencode "${cred% *}")
    pass=$(lab_urlencode "${cred#* }")
    case "$1" in
    turn) echo "turn://$user:$pass@$LAB_TURN_IP:$LAB_TURN_PORT" ;;
    turn-tcp) echo "turn://$user:$pass@$LAB_TURN_IP:$LAB_TURN_PORT?transport=tcp" ;;
    turns) echo "turns://$user:$pass@$LAB_TURN_IP:$LAB_TURN_TLS_PORT" ;;
    *) lab_die "no TURN scheme '$1' (turn, turn-tcp, turns)" ;;
    esac
}

lab_side_check()
{
    case "$1" in
    robot|viewer) return 0 ;;
    *) lab_die "no side '$1' (robot or viewer)" ;;
    esac
}

# lab_shape SIDE KBIT|off: a token bucket each way on the router's WAN link
# (this kernel has no netem: no delay emulation).
lab_shape()
{
    lab_side_check "$1" || return 1
    local out=${1:0:1}wan
    if [ "$2" = off ]; then
        ip netns exec "$1-nat" tc qdisc del dev wan root 2>/dev/null
        tc qdisc del dev "$out" root 2>/dev/null
        return 0
    fi
    ip netns exec "$1-nat" tc qdisc replace dev wan root tbf rate "${2}kbit" burst 16kbit latency 300ms &&
        tc qdisc replace dev "$out" root tbf rate "${2}kbit" burst 16kbit latency 300ms
}

# lab_loss SIDE PCT|off: drops PCT % of the packets the router forwards
# (both ways), at random, before any other rule sees them.
lab_loss()
{
    lab_side_check "$1" || return 1
    ip netns exec "$1-nat" nft -f - <<EOF
table ip labloss
delete table ip labloss
EOF
    [ "$2" = off ] && return 0
    ip netns exec "$1-nat" nft -f - <<EOF
table ip labloss {
    chain forward {
        type filter hook forward priority -10; policy accept;
        numgen random mod 100 < $2 drop
    }
}
EOF
}

# lab_count SIDE NAME IP: a named counter of the packets from IP that
# arrive on SIDE's router from the internet, counted before NAT and any
# filter (a prerouting hook ahead of conntrack), so dropped ones count too.
lab_count()
{
    lab_side_check "$1" || return 1
    case "$2" in ''|*[!a-z0-9_]*) lab_die "a counter name is [a-z0-9_]+"; return 1 ;; esac
    ip netns exec "$1-nat" nft -f - <<EOF || return 1
table ip labcount {
    chain prerouting {
        type filter hook prerouting priority -400; policy accept;
    }
}
EOF
    ip netns exec "$1-nat" nft -f - <<EOF
add counter ip labcount $2
add rule ip labcount prerouting iifname "wan" ip saddr $3 counter name "$2"
EOF
}

# lab_counted SIDE NAME: prints the packets counter NAME has seen.
lab_counted()
{
    lab_side_check "$1" || return 1
    ip netns exec "$1-nat" nft list counter ip labcount "$2" |
        awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

lab_flush()
{
    lab_side_check "$1" || return 1
    ip netns exec "$1-nat" conntrack -F
}

# lab_stop_pids PID...: TERM, up to 5 s for them to go, then KILL.
lab_stop_pids()
{
    local pid i alive
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    for i in $(seq 50); do
        alive=""
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
        done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $alive 2>/dev/null
    return 0
}

lab_down()
{
    lab_private || return 1
    local ns pids="" pid
    # Everything running in a lab namespace, whoever started it, and what
    # `spawn` started in the outer one.
    for ns in $(ip netns list | awk '{ print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do pids="$pids $pid"; done
    done
    if [ -s "$NETLAB_DIR/pids" ]; then
        while read -r pid ns _; do
            [ "$ns" = inet ] && kill -0 "$pid" 2>/dev/null && pids="$pids $pid"
        done <"$NETLAB_DIR/pids"
    fi
    # shellcheck disable=SC2086
    [ -n "$pids" ] && lab_stop_pids $pids
    : >"$NETLAB_DIR/pids"
    for ns in $(ip netns list | awk '{ print $1 }'); do ip netns del "$ns"; done
    ip link del pub 2>/dev/null
    ip link del rwan 2>/dev/null
    ip link del vwan 2>/dev/null
    return 0
}

# The body of `run`, in the new private namespaces.
lab_inside()
{
    local rkind=$1 vkind=$2
    shift 2
    mount -t tmpfs -o mode=755 netlab /run || return 1
    mkdir -p /run/netns "$NETLAB_DIR" || return 1
    : >"$NETLAB_DIR/.private"
    trap 'lab_down' EXIT
    trap 'exit 130' INT TERM
    lab_up "$rkind" "$vkind" || { lab_down; return 1; }
    if [ $# -eq 0 ]; then
        set -- "${SHELL:-/bin/bash}"
    fi
    "$@"
}

lab_main()
{
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
    run)
        [ "$(id -u)" = 0 ] || { lab_die "run needs root"; return 1; }
        local rkind=${1:-} vkind=${2:-}
        if [ -z "$rkind" ] || [ -z "$vkind" ]; then
            lab_die "usage: lab.sh run ROBOT_KIND VIEWER_KIND [-- COMMAND...]"
            return 2
        fi
        shift 2
        [ "${1:-}" = -- ] && shift
        # A PID namespace too: its first process is _inside, and when that
        # ends, or unshare is killed (--kill-child), the kernel kills
        # every process left in the lab, even after a SIGKILL.
        NETLAB="$(readlink -f "$0")" exec unshare -n -m -p --fork --kill-child --mount-proc \
            --propagation private "$(readlink -f "$0")" _inside "$rkind" "$vkind" "$@"
        ;;
    _inside) export NETLAB; lab_inside "$@" ;;
    up) lab_up "$@" ;;
    down) lab_down ;;
    exec) lab_private && lab_exec "$@" ;;
    spawn) lab_spawn "$@" ;;
    turn-start) lab_turn_start ;;
    turn-cred) lab_turn_cred "$@" ;;
    turn-url) lab_turn_url "$@" ;;
    shape) lab_private && lab_shape "$@" ;;
    loss) lab_private && lab_loss "$@" ;;
    flush) lab_private && lab_flush "$@" ;;
    kind) lab_private && lab_side_check "${1:-}" && lab_router "$@" ;;
    count) lab_private && lab_count "$@" ;;
    counted) lab_private && lab_counted "$@" ;;
    *)
        sed -n '/^# Usage/,/^# Processes/p' "$0" | sed 's/^# \{0,1\}//' >&2
        return 2
        ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    lab_main "$@"
fi
