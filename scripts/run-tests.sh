#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest on a release build
# and again on an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/build.sh build-asan -DGCVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DGCVM_BUILD_BENCHMARKS=OFF
echo "== release build =="
(cd build && ctest -j"$(nproc)" --output-on-failure)
echo "== ASan + UBSan build =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$(nproc)" --output-on-failure)
