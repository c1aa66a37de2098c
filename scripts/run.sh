#!/bin/sh
# Runs porthole-cloud and one porthole-robot with the simulated camera, for
# `make run`. Prints the viewer's URL; Ctrl-C stops both.
set -eu
build=${1:-build}
port=${2:-3001}
cloud_pid=""
robot_pid=""
stop() {
    trap - INT TERM EXIT
    [ -n "$robot_pid" ] && kill "$robot_pid" 2>/dev/null || true
    [ -n "$cloud_pid" ] && kill "$cloud_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$build/porthole-cloud" --port "$port" &
cloud_pid=$!
# Wait (at most 5 s) until the cloud answers /health before starting the robot.
i=0
until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 50 ] || ! kill -0 "$cloud_pid" 2>/dev/null; then
        echo "run: porthole-cloud did not start on port $port" >&2
        exit 1
    fi
    sleep 0.1
done
"$build/porthole-robot" --cloud-url "ws://127.0.0.1:$port/ws" &
robot_pid=$!
sleep 0.5
echo
echo "  Porthole is running: open http://localhost:$port/ in a browser."
echo "  (porthole-cloud on :$port, one simulated robot; Ctrl-C stops both)"
echo "  The robot's REST API: curl http://127.0.0.1:${ROBOT_API_PORT:-8000}/api/devices/ (docs/API.md)"
echo
wait
