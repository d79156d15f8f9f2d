#!/usr/bin/env bash
# Package test: the Debian package libmesh-dev (debian/) builds with dpkg-buildpackage, holds what
# users rely on, and its headers build and run tests/package/consumer.
#   bash tests/package/debian_package_test.sh [<mesh source dir>] [<C++ compiler>]
# - Needs dpkg-buildpackage (dpkg-dev) and debhelper. When they are missing it installs them with
#   apt-get if run as root, else it skips (exit 77, ctest's SKIP_RETURN_CODE).
# - Builds in a copy of the source tree in a temporary directory (dpkg-buildpackage writes the
#   .deb into the parent of the tree it builds).
# - As root with MESH_TEST_DPKG_INSTALL=1 it installs the package into the real system (dpkg -i)
#   and builds the consumer against /usr; otherwise it extracts the package into a temporary root
#   (dpkg-deb -x) and builds the consumer against that, with pkg-config and with find_package.
# MESH_TEST_KEEP=1 keeps the temporary directory.
set -euo pipefail

src="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
cxx="${2:-${CXX:-g++}}"
start=$SECONDS

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------------------
have_tools() {
  command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null &&
    [ -e /usr/share/perl5/Debian/Debhelper/Buildsystem/cmake.pm ]
}
if ! have_tools; then
  if [ "$(id -u)" -ne 0 ]; then
    skip "dpkg-buildpackage and debhelper are not installed and this is not root;" \
         "install them with: sudo apt-get install dpkg-dev debhelper"
  fi
  echo "== installing debhelper (root)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || true
  apt-get install -y -q --no-install-recommends debhelper ||
    fail "apt-get could not install dpkg-dev and debhelper"
  have_tools || fail "dpkg-buildpackage or debhelper still missing after apt-get"
fi

# --- version: version.hpp is the source; debian/changelog must agree ------------------------------
read_define() { sed -n "s/^#define MESH_VERSION_$1 \([0-9]*\)$/\1/p" "$src/include/mesh/version.hpp"; }
version="$(read_define MAJOR).$(read_define MINOR).$(read_define PATCH)"
deb_version="$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)"
[ "$deb_version" = "$version" ] ||
  fail "debian/changelog is at $deb_version but include/mesh/version.hpp says $version"

# --- build the package in a copy of the tree ------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mesh-deb.XXXXXX")"
cleanup() { if [ "${MESH_TEST_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

tree="$tmp/mesh-$version"
mkdir -p "$tree"
# Everything but version control and build trees (build*/ as in .gitignore, dh's obj-*/).
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
    --exclude=./debian/libmesh-dev --exclude=./debian/.debhelper -cf - . | tar -C "$tree" -xf -

echo "== dpkg-buildpackage -us -uc -b in $tree"
(cd "$tree" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
  tail -n 60 "$tmp/build.log"
  fail "dpkg-buildpackage failed (log above)"
}
deb="$tmp/libmesh-dev_${version}_all.deb"
[ -f "$deb" ] || { ls -l "$tmp"; fail "dpkg-buildpackage did not produce $(basename "$deb")"; }
echo "== built $(basename "$deb") in $((SECONDS - start)) s"

# --- what the package says and holds --------------------------------------------------------------
[ "$(dpkg-deb -f "$deb" Architecture)" = all ] || fail "libmesh-dev is not Architecture: all"
depends="$(dpkg-deb -f "$deb" Depends)"
for d in libboost-dev libmsgpack-cxx-dev cppzmq-dev libzmq3-dev; do
  grep -qw -- "$d" <<<"$depends" || fail "libmesh-dev does not depend on $d (Depends: $depends)"
done
contents="$(dpkg-deb -c "$deb")"
for f in ./usr/include/mesh/mesh.hpp ./usr/include/mesh/version.hpp ./usr/share/pkgconfig/mesh.pc \
         ./usr/share/cmake/mesh/meshConfig.cmake ./usr/share/cmake/mesh/meshConfigVersion.cmake \
         ./usr/share/cmake/mesh/meshTargets.cmake ./usr/share/doc/libmesh-dev/copyright; do
  grep -q " $f\$" <<<"$contents" || fail "libmesh-dev lacks $f"
done
if grep -q '/usr/lib/' <<<"$contents"; then fail "libmesh-dev (header-only) ships files under /usr/lib"; fi

# --- install or extract, then build the consumer --------------------------------------------------
if [ "$(id -u)" -eq 0 ] && [ "${MESH_TEST_DPKG_INSTALL:-0}" = 1 ]; then
  echo "== dpkg -i (MESH_TEST_DPKG_INSTALL=1, root): installing into the system"
  dpkg -i "$deb"
  usr=/usr
  pc=(pkg-config)
  env_pc=()
  grep -qx "prefix=/usr" /usr/share/pkgconfig/mesh.pc || fail "the installed mesh.pc does not say prefix=/usr"
else
  root="$tmp/root"
  dpkg-deb -x "$deb" "$root"
  usr="$root/usr"
  # mesh.pc says prefix=/usr: point it at the extracted tree (libzmq.pc stays the system's).
  sed -i "s|^prefix=.*|prefix=$usr|" "$usr/share/pkgconfig/mesh.pc"
  pc=(pkg-config)
  env_pc=("PKG_CONFIG_PATH=$usr/share/pkgconfig")
fi

consumer="$src/tests/package/consumer"
flags="$(env "${env_pc[@]}" "${pc[@]}" --cflags --libs mesh)"
echo "== pkg-config --cflags --libs mesh: $flags"
grep -q -- "-I$usr/include" <<<"$flags" || [ "$usr" = /usr ] ||
  fail "pkg-config does not point at the package's headers ($usr/include): $flags"
# shellcheck disable=SC2086  # the flags are words
"$cxx" -std=c++20 "$consumer/main.cpp" -o "$tmp/app_pc" $flags
out="$("$tmp/app_pc")"
echo "$out"
grep -q "mesh $version consumer ok" <<<"$out" || fail "the pkg-config consumer printed: $out"

echo "== find_package(mesh) against $usr"
cmake -S "$consumer" -B "$tmp/consumer-build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_PREFIX_PATH=$usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      "-DMESH_WANTED_VERSION=${version%.*}" >"$tmp/consumer.log" 2>&1 ||
  { cat "$tmp/consumer.log"; fail "configuring the consumer with find_package(mesh) failed"; }
grep -q "^mesh_DIR:PATH=$usr/share/cmake/mesh\$" "$tmp/consumer-build/CMakeCache.txt" ||
  fail "find_package(mesh) did not find the package's config: $(grep '^mesh_DIR' "$tmp/consumer-build/CMakeCache.txt")"
cmake --build "$tmp/consumer-build" >>"$tmp/consumer.log" 2>&1 ||
  { cat "$tmp/consumer.log"; fail "building the consumer with find_package(mesh) failed"; }
out="$("$tmp/consumer-build/app")"
echo "$out"
grep -q "mesh $version consumer ok" <<<"$out" || fail "the find_package consumer printed: $out"

echo "== libmesh-dev $version: package built, checked and consumed in $((SECONDS - start)) s"
