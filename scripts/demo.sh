#!/usr/bin/env bash
# Installs mesh's dependencies (Debian 12 packages), builds the demo and runs it:
#   bash scripts/demo.sh
# The demo is examples/demo.cpp (target mesh_demo); it is built in build/, the same tree and
# configuration as scripts/test.sh's first step, so running both does not rebuild twice.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(g++ cmake make pkg-config libboost-dev libmsgpack-cxx-dev libzmq3-dev cppzmq-dev doctest-dev libcpp-httplib-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -f examples/CMakeLists.txt ]; then
  echo "demo.sh: examples/ is not there yet; nothing to run" >&2
  exit 1
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_SANITIZE= \
  -DMESH_BUILD_TESTS=ON -DMESH_BUILD_EXAMPLES=ON -DMESH_BUILD_BENCHMARKS=OFF
cmake --build build -j"${MESH_JOBS:-2}" --target mesh_demo
exec ./build/examples/mesh_demo "$@"
