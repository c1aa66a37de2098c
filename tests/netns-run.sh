#!/bin/sh
# Runs a command inside a private network namespace that has only `lo`,
# so that nothing a test does can reach any network but loopback.
# Root uses `unshare -n`; others try an unprivileged user namespace.
set -eu
if [ "$(id -u)" = 0 ]; then flags=-n; else flags=-rn; fi
exec unshare $flags sh -c 'ip link set lo up && exec "$@"' netns-run "$@"
