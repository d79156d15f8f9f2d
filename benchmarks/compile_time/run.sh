#!/usr/bin/env bash
# Compile cost of mesh: wall time and peak memory (GNU time) to compile a TU that includes
# <mesh/mesh.hpp> with a schema of 3 actors (3 messages each), and one of 50 actors of 10
# messages each. Prints JSON. Usage: benchmarks/compile_time/run.sh [CXX] [runs]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cxx=${1:-g++}
runs=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x /usr/bin/time ]; then echo '{"error": "GNU time (package time) is required"}'; exit 1; fi
measure() {  # name n m -> JSON object
  local name=$1 n=$2 m=$3 best_s="" best_kb="" all=()
  bash "$here/gen.sh" "$n" "$m" > "$tmp/$name.cpp"
  for ((r = 0; r < runs; ++r)); do
    /usr/bin/time -f '%e %M' -o "$tmp/time.txt" "$cxx" -std=c++20 -O2 -I"$root/include" -c "$tmp/$name.cpp" -o "$tmp/$name.o"
    read -r s kb < "$tmp/time.txt"
    all+=("$s")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; fi
    if [ -z "$best_kb" ] || [ "$kb" -gt "$best_kb" ]; then best_kb=$kb; fi
  done
  local med
  med=$(printf '%s\n' "${all[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '{"actors": %d, "messages_per_actor": %d, "seconds_median": %s, "seconds_min": %s, "peak_rss_mib": %d}' \
    "$n" "$m" "$med" "$best_s" "$((best_kb / 1024))"
}
small=$(measure small 3 3)
large=$(measure large 50 10)
small_s=$(echo "$small" | sed 's/.*"seconds_median": \([0-9.]*\).*/\1/')
large_s=$(echo "$large" | sed 's/.*"seconds_median": \([0-9.]*\).*/\1/')
small_mb=$(echo "$small" | sed 's/.*"peak_rss_mib": \([0-9]*\).*/\1/')
large_mb=$(echo "$large" | sed 's/.*"peak_rss_mib": \([0-9]*\).*/\1/')
ok_small=$(awk "BEGIN{print ($small_s < 10 && $small_mb < 1024) ? \"true\" : \"false\"}")
ok_large=$(awk "BEGIN{print ($large_s < 60 && $large_mb < 3072) ? \"true\" : \"false\"}")
cat <<JSON
{
  "benchmark": "compile_time",
  "compiler": "$($cxx --version | head -1)",
  "cores": $(nproc),
  "runs": $runs,
  "small_schema": $small,
  "large_schema": $large,
  "targets": {"small_under_10s_and_1GiB": $ok_small, "large_under_60s_and_3GiB": $ok_large}
}
JSON
