#!/bin/bash
# links.sh - a link of its own for each of many viewers in the network lab
# (lab.sh): the viewer namespace gets one more address per viewer
# (100.64.2.11, .12, ...), and each address its own shaped or lossy link,
# so that twenty viewers behind one router are twenty links, not one
# shared one. Sourced inside `lab.sh run`, after lab.sh, by
# tests/netlab/crowd.sh and bench/adapt.sh.
#
#   links_add N           adds the addresses of viewers 1..N (idempotent)
#   links_ip I            prints viewer I's address
#   links_set I KIND      gives viewer I's link one of these kinds (again
#                         later to change it, e.g. 600 then 5000):
#                         KBIT (a number)  shaped to KBIT kbit/s both ways
#                         lossN            N % of its packets dropped at
#                                          random, both ways
#                         open             nothing in its way
#
# Shaping: an HTB class per viewer on each side of the viewer's LAN (the
# router's `lan` for what the viewer receives, the viewer's `eth0` for
# what it sends), each with a byte FIFO of 300 ms at its rate: the same
# token bucket and queue as lab.sh's `shape` (tbf rate KBIT latency
# 300ms), per address. Traffic of an address without a class passes
# unshaped. Loss: an nftables rule per address in the router's forward
# hook, ahead of every other (as lab.sh's `loss`). This kernel has no
# netem: no delay emulation.

LINKS_FIRST=11 # viewer 1 is 100.64.2.11

links_ip()
{
    echo "100.64.2.$((LINKS_FIRST + $1 - 1))"
}

links_add()
{
    local i
    lab_private || return 1
    for i in $(seq "$1"); do
        ip -n viewer addr replace "$(links_ip "$i")/24" dev eth0 || return 1
    done
    # The roots: one HTB a side, unclassified traffic sent as it comes.
    ip netns exec viewer-nat tc qdisc replace dev lan root handle 1: htb &&
        ip netns exec viewer tc qdisc replace dev eth0 root handle 1: htb || return 1
    ip netns exec viewer-nat nft -f - <<EOF
table ip linksloss
delete table ip linksloss
table ip linksloss {
    chain forward {
        type filter hook forward priority -20; policy accept;
    }
}
EOF
}

# links_class NS DEV I KBIT MATCH: (re)makes viewer I's class on one side.
links_class()
{
    local ns=$1 dev=$2 i=$3 kbit=$4 match=$5 verb=add
    local id=$((LINKS_FIRST + i - 1))
    # 300 ms of the rate, at least two full packets.
    local bytes=$((kbit * 1000 / 8 * 3 / 10))
    [ "$bytes" -lt 3000 ] && bytes=3000
    ip netns exec "$ns" tc class show dev "$dev" classid "1:$id" | grep -q . && verb=change
    ip netns exec "$ns" tc class "$verb" dev "$dev" parent 1: classid "1:$id" htb \
        rate "${kbit}kbit" ceil "${kbit}kbit" burst 16kbit cburst 16kbit || return 1
    ip netns exec "$ns" tc qdisc replace dev "$dev" parent "1:$id" handle "$id:" bfifo limit "$bytes" ||
        return 1
    if [ "$verb" = add ]; then
        ip netns exec "$ns" tc filter add dev "$dev" parent 1: protocol ip prio "$id" u32 \
            match ip "$match" "$(links_ip "$i")/32" flowid "1:$id" || return 1
    fi
}

# links_unshape I: viewer I's filters and classes gone (its traffic
# unclassified). Each viewer's filter has a priority of its own (its id),
# so that it goes alone.
links_unshape()
{
    local id=$((LINKS_FIRST + $1 - 1))
    ip netns exec viewer-nat tc filter del dev lan parent 1: prio "$id" 2>/dev/null
    ip netns exec viewer tc filter del dev eth0 parent 1: prio "$id" 2>/dev/null
    ip netns exec viewer-nat tc class del dev lan classid "1:$id" 2>/dev/null
    ip netns exec viewer tc class del dev eth0 classid "1:$id" 2>/dev/null
    return 0
}

# links_loss I PCT|off: PCT % of viewer I's packets dropped, both ways.
links_loss()
{
    local ip handles h
    ip=$(links_ip "$1")
    handles=$(ip netns exec viewer-nat nft -a list chain ip linksloss forward |
        awk -v ip="$ip" '$0 ~ ("addr " ip " ") { print $NF }')
    for h in $handles; do
        ip netns exec viewer-nat nft delete rule ip linksloss forward handle "$h" || return 1
    done
    [ "$2" = off ] && return 0
    ip netns exec viewer-nat nft add rule ip linksloss forward ip daddr "$ip" numgen random mod 100 \< "$2" drop &&
        ip netns exec viewer-nat nft add rule ip linksloss forward ip saddr "$ip" numgen random mod 100 \< "$2" drop
}

links_set()
{
    local i=$1 kind=$2
    case "$kind" in
    open)
        links_loss "$i" off && links_unshape "$i"
        ;;
    loss[0-9]*)
        links_unshape "$i" && links_loss "$i" "${kind#loss}"
        ;;
    *[!0-9]*|'')
        lab_die "no link kind '$kind' (KBIT, lossPCT or open)"
        ;;
    *)
        links_loss "$i" off &&
            links_class viewer-nat lan "$i" "$kind" dst &&
            links_class viewer eth0 "$i" "$kind" src
        ;;
    esac
}
