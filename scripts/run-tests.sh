#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest on a release build,
# again on an AddressSanitizer + UndefinedBehaviorSanitizer build, the collector's thread
# tests on a ThreadSanitizer build, and fuzzes the Scheme reader with libFuzzer for a
# bounded time (GCVM_FUZZ_SECONDS, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/build.sh build-asan -DGCVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DGCVM_BUILD_BENCHMARKS=OFF
CC=clang CXX=clang++ scripts/build.sh build-tsan -DGCVM_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DGCVM_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
  -DGCVM_BUILD_BENCHMARKS=OFF -DGCVM_FUZZ_SECONDS="${GCVM_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_reader >/dev/null
echo "== release build =="
(cd build && ctest -j"$(nproc)" --output-on-failure)
echo "== ASan + UBSan build =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$(nproc)" --output-on-failure)
echo "== ThreadSanitizer build: the collector's thread tests =="
(cd build-tsan && ctest -L threads -j"$(nproc)" --output-on-failure)
echo "== libFuzzer: the Scheme reader =="
(cd build-fuzz && ctest -L fuzz --output-on-failure)
