#!/usr/bin/env python3
"""Checks that no header under include/mesh includes a higher layer or a forbidden third-party header.

    python3 tests/layers/check_layers.py [--include DIR] [--table FILE]

--include: the directory that holds mesh/ (default: <repo>/include).
--table:   the Markdown file whose layer table is the rule (default: <repo>/docs/architecture.md).

The rule lives in one place: the Markdown between `<!-- layers:begin -->` and `<!-- layers:end -->`.
Two tables are read there, by their header row:

  | layer | headers (include/mesh/) | ... | may include |
      layer: one name in backticks. headers: globs relative to include/mesh, in backticks (`core/*`,
      `node.hpp`); a header belongs to the row whose matching glob is most specific (most literal
      characters), so `flow/cluster*.hpp` beats `flow/*`. may include: backticked items, each a layer
      name, an external name from the second table, or one header path (`wire/type_name.hpp`).
      Text outside backticks is commentary.
  | external | headers |
      external: a name in backticks (`zmq`). headers: globs of the include names it covers, in
      backticks. `std` is built in: an include without an extension (<vector>, <cstdio>).

Every violation prints `file:line: <header> (layer X) includes <other> (layer Y)` (or `(external Y)`
for a third-party header; `?` when the included header matches no row). Exit status: 0 clean,
1 violations, 2 the table or the tree could not be read.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys

BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
TICKS_RE = re.compile(r"`([^`]+)`")


class TableError(Exception):
    pass


def literal_chars(glob: str) -> int:
    return sum(1 for c in glob if c not in "*?[]")


def split_row(line: str) -> list[str]:
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells]


def read_tables(path: str):
    """-> (layers, externals): layers = [(name, [globs], [allowed tokens])] in table order,
    externals = [(name, [globs])]."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise TableError(f"{path}: cannot read: {e.strerror}")
    b, e = text.find(BEGIN), text.find(END)
    if b < 0 or e < b:
        raise TableError(f"{path}: no '{BEGIN}' ... '{END}' section")
    first_line = text.count("\n", 0, b) + 1
    layers, externals = [], []
    header, kind = None, None
    for offset, line in enumerate(text[b + len(BEGIN):e].split("\n")):
        lineno = first_line + offset
        if not line.strip().startswith("|"):
            header, kind = None, None
            continue
        cells = split_row(line)
        if header is None:
            header = [c.lower() for c in cells]
            if header[0] == "layer":
                kind = "layer"
                try:
                    h_col = next(i for i, c in enumerate(header) if c.startswith("headers"))
                    m_col = header.index("may include")
                except (StopIteration, ValueError):
                    raise TableError(f"{path}:{lineno}: the layer table needs 'headers' and 'may include' columns")
            elif header[0] == "external":
                kind = "external"
            else:
                kind = "other"
            continue
        if set("".join(cells)) <= set("-: "):
            continue  # the |---| row
        if kind == "layer":
            names = TICKS_RE.findall(cells[0])
            if len(names) != 1 or len(cells) <= max(h_col, m_col):
                raise TableError(f"{path}:{lineno}: a layer row needs one `name` and every column")
            globs = TICKS_RE.findall(cells[h_col])
            if not globs:
                raise TableError(f"{path}:{lineno}: layer `{names[0]}` lists no headers")
            layers.append((names[0], globs, TICKS_RE.findall(cells[m_col]), lineno))
        elif kind == "external":
            names = TICKS_RE.findall(cells[0])
            if len(names) != 1 or len(cells) < 2:
                raise TableError(f"{path}:{lineno}: an external row needs one `name` and its headers")
            externals.append((names[0], TICKS_RE.findall(cells[1])))
    if not layers:
        raise TableError(f"{path}: no layer table between the markers")
    layer_names = {n for n, *_ in layers}
    ext_names = {n for n, _ in externals} | {"std"}
    for name, _, allowed, lineno in layers:
        for tok in allowed:
            if tok not in layer_names and tok not in ext_names and not tok.endswith((".hpp", ".h")):
                raise TableError(f"{path}:{lineno}: layer `{name}` may include `{tok}`, which is no layer, "
                                 "external or header")
    return [(n, g, a) for n, g, a, _ in layers], externals


def layer_of(rel: str, layers) -> str | None:
    best, best_score = None, -1
    for name, globs, _ in layers:
        for g in globs:
            if fnmatch.fnmatchcase(rel, g) and literal_chars(g) > best_score:
                best, best_score = name, literal_chars(g)
    return best


def external_of(inc: str, externals) -> str | None:
    best, best_score = None, -1
    for name, globs in externals:
        for g in globs:
            if fnmatch.fnmatchcase(inc, g) and literal_chars(g) > best_score:
                best, best_score = name, literal_chars(g)
    if best is None and "." not in inc:
        return "std"
    return best


def check(include_dir: str, table: str) -> tuple[list[str], int]:
    layers, externals = read_tables(table)
    allowed = {name: set(a) for name, _, a in layers}
    root = os.path.join(include_dir, "mesh")
    abs_root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise TableError(f"{root}: no such directory")
    headers = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith((".hpp", ".h", ".ipp")):
                headers.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    headers.sort()
    base = os.path.dirname(os.path.abspath(include_dir))  # paths print as include/mesh/...

    def shown(rel: str) -> str:
        return os.path.relpath(os.path.join(abs_root, rel), base).replace(os.sep, "/")

    out = []
    for rel in headers:
        mine = layer_of(rel, layers)
        if mine is None:
            out.append(f"{shown(rel)}:1: <mesh/{rel}> belongs to no layer of the table in {table}")
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                quote, inc = m.groups()
                if quote == '"':  # relative to the file first, as the preprocessor does
                    cand = os.path.normpath(os.path.join(os.path.dirname(os.path.join(abs_root, rel)), inc))
                    if os.path.isfile(cand) and os.path.commonpath([cand, abs_root]) == abs_root:
                        inc = "mesh/" + os.path.relpath(cand, abs_root).replace(os.sep, "/")
                if inc.startswith("mesh/"):
                    target = inc[len("mesh/"):]
                    theirs = layer_of(target, layers)
                    ok = theirs is not None and (theirs in allowed[mine] or target in allowed[mine])
                    if not ok:
                        out.append(f"{shown(rel)}:{lineno}: <mesh/{rel}> (layer {mine}) includes <{inc}> "
                                   f"(layer {theirs or '?'})")
                else:
                    ext = external_of(inc, externals)
                    if ext is None or ext not in allowed[mine]:
                        out.append(f"{shown(rel)}:{lineno}: <mesh/{rel}> (layer {mine}) includes <{inc}> "
                                   f"(external {ext or '?'})")
    return out, len(headers)


def main(argv: list[str]) -> int:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description="fail when a mesh header includes a higher layer")
    p.add_argument("--include", default=os.path.join(repo, "include"))
    p.add_argument("--table", default=os.path.join(repo, "docs", "architecture.md"))
    a = p.parse_args(argv)
    try:
        violations, n = check(a.include, a.table)
    except TableError as e:
        print(f"check_layers: {e}", file=sys.stderr)
        return 2
    for v in violations:
        print(v)
    if violations:
        print(f"check_layers: {len(violations)} upward or forbidden include(s) in {n} headers "
              f"(rule: the table between the layers markers in {a.table})", file=sys.stderr)
        return 1
    print(f"check_layers: {n} headers, every include points down or sideways", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
