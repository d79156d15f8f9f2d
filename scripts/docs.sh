#!/bin/sh
# Generates the API reference into build/docs/html (Doxyfile) and fails when doxygen warns: an
# undocumented public name (namespace mesh and its public sub-namespaces; mesh::detail and
# mesh::diagnostics are excluded) or a documentation error. Needs Debian's doxygen.
set -eu
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { echo "docs.sh: doxygen is not installed (apt-get install doxygen)" >&2; exit 2; }
mkdir -p build/docs
doxygen Doxyfile
if [ -s build/docs/warnings.log ]; then
  echo "docs.sh: $(wc -l < build/docs/warnings.log) doxygen warnings (build/docs/warnings.log):" >&2
  head -n 40 build/docs/warnings.log >&2
  exit 1
fi
echo "docs.sh: API reference in build/docs/html/index.html"
