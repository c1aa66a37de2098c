#!/bin/sh
# Installs the Debian packages of deps/debian-packages.txt that are missing,
# from the groups named on the command line (default: every group).
# A line is "package" or "package command": with a command, the package
# counts as present when that command is on PATH (Node.js from another
# source brings its own npm, which Debian's npm package would conflict with).
# "[group]" lines start a group.
set -eu
list=$(dirname "$0")/debian-packages.txt
want=" ${*:-build test} "
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
missing=""
group=""
while read -r pkg cmd _; do
    case "$pkg" in
        ''|\#*) continue ;;
        \[*\]) group=${pkg#[}; group=${group%]}; continue ;;
    esac
    case "$want" in *" $group "*) ;; *) continue ;; esac
    if [ -n "${cmd:-}" ] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done < "$list"
if [ -z "$missing" ]; then
    echo "deps: all Debian packages present ($(echo $want))"
    exit 0
fi
echo "deps: installing$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
