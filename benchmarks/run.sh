#!/usr/bin/env bash
# mesh's benchmark command: mesh and its peers side by side, on this machine, in one run.
#
#   bash benchmarks/run.sh [--quick] [--no-install] [--no-build] [--runs N] [--duration SECONDS]
#                          [--large-compile-runs N] [--jobs N]
#   bash benchmarks/run.sh --estimate [options]   (print the expected duration and exit)
#
# 1. installs the build dependencies, the peers and the tools from Debian's packages (as root;
#    skipped with --no-install or when not root, then missing packages are only listed):
#    g++ cmake make pkg-config libboost-dev libmsgpack-cxx-dev libzmq3-dev cppzmq-dev doctest-dev
#    (scripts/test.sh's list), libcaf-dev libtbb-dev (peers), gnuplot-nox time python3 git;
# 2. builds the benchmarks in Release in build-bench/ (tests and examples off);
# 3. runs, one at a time, each with at least --runs runs (default 5) and a time limit:
#    mesh_bench_actor (mesh, CAF when built in, an inline hash map as the floor),
#    mesh_bench_remote (mesh with CURVE and insecure, CAF when built in, raw cppzmq plain and with
#    CURVE), mesh_bench_flow (mesh, oneTBB),
#    mesh_bench_shard (--runs processes of one run each), any benchmark binary in
#    build-bench/benchmarks/caf/, and benchmarks/compile_time/run.sh (3 x 3 schema --runs times,
#    50 x 10 schema --large-compile-runs times, default 5);
#    every timed case runs for a fixed --duration (default 2 s) per run and system: the case's
#    count-sized round (the Elixir Mesh workload: same window of outstanding requests, same ids)
#    repeats until the duration has passed, at least one whole round, and the rate is operations
#    / time inside the rounds (benchmarks/common/timed.hpp); memory per activation and compile
#    cost are count-based. A round longer than the duration (CAF's 200,000 sequential calls,
#    ~9 s) runs once;
# 4. benchmarks/tools/aggregate.py writes benchmarks/results/latest.json (machine facts, package
#    versions, the duration, median/min/max/runs and each run's rounds and operations per workload
#    and system, mesh/peer ratios),
#    docs/perf/table.md and, with gnuplot, docs/perf/{throughput,latency,compile}.svg.
# Raw outputs and logs stay in benchmarks/results/raw/ (not committed).
#
# --quick: smoke run (tiny rounds, --duration 0.1 unless given, 2 runs, small compile schemas) for
#          CI or trying the command; writes to benchmarks/results/quick/ instead (latest.json,
#          table.md, SVGs), marked quick, so it never overwrites the real figures.
# --duration SECONDS: wall-clock time of each timed case per run and system (default 2; 0 runs
#          exactly one round of each); recorded in latest.json and table.md.
# Progress goes to stderr; stdout gets the table of medians and the paths written. Exits non-zero
# when a step failed (the other steps still run and the results say which one failed).
# MESH_JOBS (default 2) or --jobs sets build parallelism.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

orig_args="$*"
estimate_only=false quick=false install=true build=true runs=5 large_runs=5 jobs=${MESH_JOBS:-2}
duration=2 duration_given=false
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }
while (($#)); do
  case "$1" in
    --quick) quick=true; shift ;;
    --no-install) install=false; shift ;;
    --no-build) build=false; shift ;;
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; duration_given=true; shift 2 ;;
    --large-compile-runs) large_runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --estimate) estimate_only=true; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
for v in "$runs" "$large_runs" "$jobs"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: counts must be positive integers" >&2; exit 2; }
done
[[ "$duration" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run.sh: --duration takes seconds, e.g. 2 or 0.5" >&2; exit 2; }
if $quick; then runs=2; large_runs=1; $duration_given || duration=0.1; fi
if ! $quick && ((runs < 5)); then echo "run.sh: warning: --runs $runs < 5; the issue asks for medians of at least 5" >&2; fi
if ! $quick && ((large_runs < 5)); then
  echo "run.sh: warning: --large-compile-runs $large_runs < 5; the issue asks for medians of at least 5" >&2
fi

start=$SECONDS
log() { printf '[run.sh %3d:%02d] %s\n' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) "$*" >&2; }

if $quick; then
  out_dir=benchmarks/results/quick
  docs_dir=$out_dir
else
  out_dir=benchmarks/results
  docs_dir=docs/perf
fi
raw=$out_dir/raw
build_dir=build-bench

# --- time estimate (2-core VM, idle) ------------------------------------------------------------
# Seconds per run with duration D per timed case and system (cases x systems x D, plus setup,
# warm-ups and teardown measured on the VM): actor 12 D + 10 s (4 timed cases x 3 systems; the
# memory case, warm-ups and node teardowns) + max(0, 9 - D) for CAF's sequential round (200,000
# calls at ~45 us take ~9 s whatever D); remote 21 D + 4 s (3 cases x 7 systems: raw, raw CURVE,
# mesh, mesh_insecure, mesh_workers, mesh_no_spin, CAF; server processes, handshakes, warm-up calls); flow 4 D + 1 s; shard 6 D + 1 s per process (3 id lengths x 2 hashers); a CAF
# binary of its own 4 D + 5 s (a guess: none exists yet). Compile ~12 s per small TU and ~60 s per
# 50 x 10 TU (measured at 0a91b01: 9.8 s and 50.8 s, plus generation and headroom). --quick: tiny rounds, so
# the per-run overheads shrink to ~2 s (actor), ~1 s (remote), ~0.5 s (flow, shard).
estimate() {  # -> sets est_build est_run est_compile est_total
  local have_bin=false caf_bins=0
  [ -x $build_dir/benchmarks/actor/mesh_bench_actor ] && have_bin=true
  [ -d $build_dir/benchmarks/caf ] && caf_bins=$(find $build_dir/benchmarks/caf -maxdepth 2 -type f -executable ! -path '*/CMakeFiles/*' | wc -l)
  est_build=$($have_bin && echo 90 || echo 420)
  if $quick; then
    est_run=$(awk -v d="$duration" -v r="$runs" -v c="$caf_bins" \
      'BEGIN { printf "%d", r * ((12 * d + 2) + (21 * d + 1) + (4 * d + 0.5) + (6 * d + 0.5) + c * (4 * d + 2)) + 0.999 }')
    est_compile=60
  else
    est_run=$(awk -v d="$duration" -v r="$runs" -v c="$caf_bins" 'BEGIN {
      caf_seq = 9 - d; if (caf_seq < 0) caf_seq = 0
      printf "%d", r * ((12 * d + 10 + caf_seq) + (21 * d + 4) + (4 * d + 1) + (6 * d + 1) + c * (4 * d + 5)) + 0.999 }')
    est_compile=$((runs * 12 + large_runs * 60))
  fi
  $build || est_build=0
  est_total=$((est_build + est_run + est_compile))
}
mins() { echo $((($1 + 59) / 60)); }
estimate
log "mode: $($quick && echo 'QUICK smoke run' || echo full), runs=$runs, duration=${duration} s per timed case, large compile runs=$large_runs, jobs=$jobs"
log "estimated duration: ~$(mins $est_total) min (build ~$(mins $est_build), benchmarks ~$(mins $est_run), compile cost ~$(mins $est_compile) min) on an idle 2-core VM"
if $estimate_only; then exit 0; fi

# --- 1. packages -------------------------------------------------------------------------------
packages=(g++ cmake make pkg-config libboost-dev libmsgpack-cxx-dev libzmq3-dev cppzmq-dev doctest-dev
          libcaf-dev libtbb-dev gnuplot-nox time python3 git)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# gnuplot-nox is the headless gnuplot; any installed gnuplot flavour will do.
if command -v gnuplot >/dev/null; then
  for i in "${!missing[@]}"; do [ "${missing[$i]}" = gnuplot-nox ] && unset 'missing[i]'; done
  missing=("${missing[@]}")
fi
if ((${#missing[@]} == 0)); then
  log "packages: all present"
elif $install && [ "$(id -u)" -eq 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
else
  log "not installing (--no-install or not root); missing: ${missing[*]}"
  log "  to install: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
fi
for tool in cmake python3; do
  command -v "$tool" >/dev/null || { log "error: $tool is required"; exit 1; }
done

# --- 2. build ----------------------------------------------------------------------------------
build_start=$SECONDS
if $build; then
  log "configuring and building $build_dir/ (Release, benchmarks only, -j$jobs)"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DMESH_BUILD_BENCHMARKS=ON \
    -DMESH_BUILD_TESTS=OFF -DMESH_BUILD_EXAMPLES=OFF -DMESH_SANITIZE= >&2
  cmake --build "$build_dir" -j"$jobs" >&2
fi
build_seconds=$((SECONDS - build_start))
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
cxx=${cxx:-g++}
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
log "build: ${build_seconds} s (type ${build_type:-?}, compiler $cxx)"
build=false estimate
log "estimated remaining: ~$(mins $est_total) min (benchmarks ~$(mins $est_run), compile cost ~$(mins $est_compile) min)"

# --- 3. benchmarks ------------------------------------------------------------------------------
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
steps_json=()
failed_steps=()

# run_step NAME OUT LIMIT_SECONDS CMD...: CMD's stdout to $raw/OUT, its stderr to the terminal and
# $raw/NAME.log; records the exit status and duration. A failing step does not stop the others.
run_step() {
  local name=$1 out=$2 limit=$3
  shift 3
  log "$name: $*"
  local t0=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" > "$raw/$out" 2> >(tee "$raw/$name.log" >&2) || rc=$?
  local dt=$((SECONDS - t0))
  if ((rc == 124)); then log "$name: TIMED OUT after ${limit} s"; fi
  if ((rc != 0)); then failed_steps+=("$name"); log "$name: exit status $rc after ${dt} s"; else log "$name: done in ${dt} s"; fi
  steps_json+=("\"$name\": {\"seconds\": $dt, \"exit_status\": $rc, \"command\": \"$*\", \"output\": \"$out\"}")
}

bin=$build_dir/benchmarks
q=(); $quick && q=(--quick)
dur=(--duration "$duration")
need() { [ -x "$1" ] || { log "missing $1 (build failed?)"; failed_steps+=("$(basename "$1")"); return 1; }; }
# limit BASE TIMED_CASES_PER_RUN: a step's time limit, BASE seconds plus three times its timed part.
limit() { awk -v b="$1" -v k="$2" -v d="$duration" -v r="$runs" 'BEGIN { printf "%d", b + 3 * r * k * d }'; }

if need "$bin/actor/mesh_bench_actor"; then
  run_step actor actor.json "$(limit 1800 12)" "$bin/actor/mesh_bench_actor" "${q[@]}" --runs "$runs" "${dur[@]}"
fi
if need "$bin/cluster/mesh_bench_remote"; then
  run_step remote remote.json "$(limit 1800 21)" "$bin/cluster/mesh_bench_remote" "${q[@]}" --runs "$runs" "${dur[@]}"
fi
if need "$bin/flow/mesh_bench_flow"; then
  run_step flow flow.json "$(limit 900 4)" "$bin/flow/mesh_bench_flow" "${q[@]}" --runs "$runs" "${dur[@]}"
fi
if need "$bin/shard/mesh_bench_shard"; then
  # shard_for has no per-system min/max of its own baseline: run it --runs times as separate
  # processes, each timing one run of --duration per id length and hasher, and aggregate over
  # the processes.
  shard_args=("${q[@]}" --runs 1 "${dur[@]}")
  for ((i = 1; i <= runs; ++i)); do
    run_step "shard-$i" "shard-$i.json" "$(runs=1 limit 300 6)" "$bin/shard/mesh_bench_shard" "${shard_args[@]}"
  done
fi
# CAF backends built as separate binaries (benchmarks/caf/), if any: same JSON shapes and options.
if [ -d "$bin/caf" ]; then
  while IFS= read -r exe; do
    name=$(basename "$exe")
    run_step "caf-$name" "caf-$name.json" "$(limit 1800 12)" "$exe" "${q[@]}" --runs "$runs" "${dur[@]}"
  done < <(find "$bin/caf" -maxdepth 2 -type f -executable ! -path '*/CMakeFiles/*' | sort)
fi
compile_limit=$((runs * 120 + large_runs * 900))
run_step compile compile.json "$compile_limit" \
  bash benchmarks/compile_time/run.sh --cxx "$cxx" --runs "$runs" --large-runs "$large_runs" "${q[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 4. aggregate ------------------------------------------------------------------------------
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
  printf '{\n  "quick": %s,\n' "$quick"
  printf '  "command": "%s",\n' "$(json_str "bash benchmarks/run.sh${orig_args:+ $orig_args}")"
  printf '  "cxx": "%s",\n' "$(json_str "$cxx")"
  printf '  "build": {"dir": "%s", "type": "%s", "seconds": %d, "built_now": %s},\n' "$build_dir" "$(json_str "$build_type")" "$build_seconds" "$build"
  printf '  "runs": %d,\n  "large_compile_runs": %d,\n' "$runs" "$large_runs"
  printf '  "duration_s": %s,\n' "$duration"
  printf '  "load_before": "%s",\n  "load_after": "%s",\n' "$load_before" "$load_after"
  printf '  "total_seconds": %d,\n' $((SECONDS - start))
  printf '  "steps": {\n'
  for i in "${!steps_json[@]}"; do
    printf '    %s%s\n' "${steps_json[$i]}" "$([ "$i" -lt $((${#steps_json[@]} - 1)) ] && echo ,)"
  done
  printf '  }\n}\n'
} > "$raw/meta.json"

agg=(python3 benchmarks/tools/aggregate.py --raw "$raw" --out "$out_dir/latest.json" --docs "$docs_dir"
     --plot-data "$out_dir/plot")
$quick && agg+=(--quick)
log "aggregating: ${agg[*]}"
"${agg[@]}"

cat "$docs_dir/table.md"
echo
echo "results: $out_dir/latest.json; table: $docs_dir/table.md; figures: $(ls "$docs_dir"/*.svg 2>/dev/null | tr '\n' ' ')"
echo "raw outputs and logs: $raw/; total $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
if ((${#failed_steps[@]})); then
  echo "FAILED steps: ${failed_steps[*]} (see $raw/*.log)"
  exit 1
fi
