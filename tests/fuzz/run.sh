#!/bin/sh
# run.sh - builds the libFuzzer targets with clang (a build directory of
# their own, PORTHOLE_FUZZ=ON) and runs them: the cloud's codecs, protocol
# and router (fuzz_router), a Socket.IO peer's Engine.IO and Socket.IO
# packets (fuzz_eio), the tokens peers present (fuzz_token), the robot's check of SDP answers
# (fuzz_sdp_answer), and a WHEP player's offers and SDP fragments
# (fuzz_whep), each under ASan and UBSan.
#
# Usage: tests/fuzz/run.sh --seconds N BUILD_DIR   (make fuzz)
#            each target N seconds; what it finds is kept in
#            BUILD_DIR/corpus-NAME, read again next time
#        tests/fuzz/run.sh --check BUILD_DIR      (the test fuzz.corpus)
#            each target over its corpus in tests/fuzz/, then FUZZ_RUNS
#            (20000) fresh inputs from seed 1: the same inputs every run,
#            bounded by count and by 120 s; nothing is kept
# Exit status: 0 when no target crashed, 1 when one did (its input is in
# BUILD_DIR, named in the output), 77 when clang is missing (SKIPPED).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mode=${1:-} arg=${2:-}
case "$mode" in
--seconds) seconds=$arg; out=${3:?usage: run.sh --seconds N BUILD_DIR} ;;
--check) out=$arg ;;
*) sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
[ -n "$out" ] || { echo "run.sh: BUILD_DIR missing" >&2; exit 2; }
if [ "$mode" = --seconds ]; then
    case $seconds in
    '' | *[!0-9]* | 0*) echo "run.sh: --seconds wants a whole number of seconds, 1 or more" >&2; exit 2 ;;
    esac
fi
command -v clang >/dev/null 2>&1 || { echo "SKIPPED: clang is not installed (make deps)"; exit 77; }

cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPORTHOLE_FUZZ=ON -DPORTHOLE_TESTS=OFF -DPORTHOLE_SANITIZERS=OFF \
      -DPORTHOLE_REALSENSE=OFF >/dev/null
cmake --build "$out" -j "$(nproc 2>/dev/null || echo 2)" \
      --target fuzz_router fuzz_eio fuzz_token fuzz_sdp_answer fuzz_whep >/dev/null
out=$(cd "$out" && pwd)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=""
# fuzz NAME CORPUS MAX_LEN [DICT]
fuzz() {
    name=$1 corpus=$here/$2 max_len=$3 dict=${4:+-dict=$here/$4}
    if [ "$mode" = --check ]; then
        work=$out/check-$name
        rm -rf "$work" && mkdir -p "$work"
        # shellcheck disable=SC2086 # dict is one word or none
        "$out/fuzz_$name" -max_len="$max_len" $dict -seed=1 -runs="${FUZZ_RUNS:-20000}" \
            -max_total_time=120 -artifact_prefix="$out/crash-$name-" "$work" "$corpus" \
            >"$out/$name.log" 2>&1 || failed="$failed $name"
    else
        mkdir -p "$out/corpus-$name"
        # shellcheck disable=SC2086
        "$out/fuzz_$name" -max_len="$max_len" $dict -max_total_time="$seconds" \
            -artifact_prefix="$out/crash-$name-" "$out/corpus-$name" "$corpus" \
            >"$out/$name.log" 2>&1 || failed="$failed $name"
    fi
    echo "fuzz_$name: $(grep -E '^(Done|#[0-9]+ *DONE)' "$out/$name.log" | tail -n 1)$(
        grep -m 1 -E 'ERROR|SUMMARY|deadly signal' "$out/$name.log" || true)"
}
fuzz router corpus 4096
fuzz eio corpus-eio 4096
fuzz token corpus-token 4096
fuzz sdp_answer corpus-sdp 8192 sdp_answer.dict
fuzz whep corpus-whep 8192 sdp_answer.dict
if [ -n "$failed" ]; then
    for name in $failed; do
        echo "fuzz_$name FAILED: the end of $out/$name.log:"
        tail -n 40 "$out/$name.log"
    done
    exit 1
fi
echo "fuzz: no crash"
