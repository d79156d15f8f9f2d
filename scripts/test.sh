#!/usr/bin/env bash
# mesh's test command (the one the README shows and .ci/run calls): on a fresh Debian 12 machine
#   bash scripts/test.sh
# 1. installs the build dependencies from Debian's packages (apt-get; sudo when not root);
# 2. build/       RelWithDebInfo: builds everything and runs every ctest entry (unit, headers,
#                 compile_fail, package, system, example);
# 3. build-asan/  MESH_SANITIZE=address (ASan + UBSan, -fno-sanitize-recover=all): builds
#                 mesh_label_unit and runs the tests labelled unit;
# 4. build-tsan/  MESH_SANITIZE=thread (TSan): builds mesh_label_tsan and runs the tests labelled
#                 tsan (none yet is not an error);
# 5. build-clang/ clang++ (Debian's clang, 14 on Debian 12) with libstdc++, RelWithDebInfo, the same
#                 -Werror warnings: builds mesh_label_unit, runs the tests labelled unit and the
#                 compile_fail tests (on clang the first error must be the `mesh:` static_assert).
# Exits non-zero at the first failing step, after printing the summary. MESH_JOBS (default 2) sets build and ctest parallelism.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${MESH_JOBS:-2}"
summary=()
script_start=$SECONDS
step_start=$SECONDS

# Whatever happens, end with one line per ctest run (its "N% tests passed" line) and the time.
print_summary() {
  local rc=$?
  echo
  echo "==================================================================================="
  echo "== summary: $((SECONDS - script_start)) s, $([ "$rc" -eq 0 ] && echo PASSED || echo "FAILED (exit $rc)")"
  echo "==================================================================================="
  if ((${#summary[@]})); then printf '%s\n' "${summary[@]}"; fi
}
trap print_summary EXIT

# --- 1. dependencies ------------------------------------------------------------------------------
# dpkg-dev and debhelper: the package test builds debian/'s libmesh-dev; clang: step 5.
# libsqlite3-dev, libhiredis-dev, redis-server: the optional state stores and their tests (tests/store).
# libcpp-httplib-dev: mesh::admin and its tests; chromium: the admin test loads the dashboard in it
# (headless; about 140 MB to download, 480 MB installed: the largest package here).
packages=(g++ clang cmake make pkg-config libboost-dev libmsgpack-cxx-dev libzmq3-dev cppzmq-dev doctest-dev
          dpkg-dev debhelper libsqlite3-dev libhiredis-dev redis-server libcpp-httplib-dev chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "== dependencies already installed: ${packages[*]}"
fi

# --- helpers --------------------------------------------------------------------------------------
# run_ctest <step name> <build dir> [ctest args...]: runs ctest, keeps its summary lines.
run_ctest() {
  local name="$1" dir="$2"
  shift 2
  local log="$dir/ctest-$(date +%s).log"
  local rc=0
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log" || rc=$?
  local line
  line=$(grep -E "tests passed|No tests were found" "$log" | tail -1 || true)
  summary+=("$name: ${line:-no ctest summary (rc=$rc)}  [$((SECONDS - step_start)) s]")
  return "$rc"
}

# configure_and_build <dir> [--target T] [cmake -D options...]
configure_and_build() {
  local dir="$1" target=()
  shift
  if [ "${1:-}" = --target ]; then target=(--target "$2"); shift 2; fi
  cmake -S . -B "$dir" "$@"
  cmake --build "$dir" -j"$jobs" "${target[@]}"
}

step() {
  step_start=$SECONDS
  echo
  echo "==================================================================================="
  echo "== $*"
  echo "==================================================================================="
}

# Sanitizer builds: -O1 keeps them fast to run, -g1 gives symbolized reports, assertions stay on.
san_flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
           -DMESH_BUILD_TESTS=ON -DMESH_BUILD_EXAMPLES=OFF -DMESH_BUILD_BENCHMARKS=OFF)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

# --- 2. full suite --------------------------------------------------------------------------------
step "1/4 RelWithDebInfo build, every test (build/)"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_SANITIZE= \
  -DMESH_BUILD_TESTS=ON -DMESH_BUILD_EXAMPLES=ON -DMESH_BUILD_BENCHMARKS=OFF
run_ctest "full suite (build/)" build

# --- 3. ASan + UBSan ------------------------------------------------------------------------------
step "2/4 AddressSanitizer + UndefinedBehaviorSanitizer build, unit tests (build-asan/)"
configure_and_build build-asan --target mesh_label_unit "${san_flags[@]}" -DMESH_SANITIZE=address
run_ctest "asan+ubsan unit (build-asan/)" build-asan -L unit

# --- 4. TSan --------------------------------------------------------------------------------------
step "3/4 ThreadSanitizer build, tsan tests (build-tsan/)"
configure_and_build build-tsan --target mesh_label_tsan "${san_flags[@]}" -DMESH_SANITIZE=thread
run_ctest "tsan (build-tsan/)" build-tsan -L tsan --no-tests=ignore

# --- 5. clang -------------------------------------------------------------------------------------
step "4/4 clang++ build (libstdc++), unit and compile_fail tests (build-clang/)"
configure_and_build build-clang --target mesh_label_unit -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_SANITIZE= \
  -DMESH_BUILD_TESTS=ON -DMESH_BUILD_EXAMPLES=OFF -DMESH_BUILD_BENCHMARKS=OFF
run_ctest "clang unit + compile_fail (build-clang/)" build-clang -L "^(unit|compile_fail)$"
