#!/bin/sh
# Builds the whole tree with clang and -Werror (the plain variant only):
# the project must stay warning-free under both gcc and clang.
set -eu
src=$1 out=$2
command -v clang >/dev/null || { echo "clang not installed (make deps installs it)"; exit 1; }
cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER=clang -DPORTHOLE_SANITIZERS=OFF \
      -DPORTHOLE_CLANG_CHECK=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$out" -j 2
echo "clang build: warning-free"
