#!/usr/bin/env python3
"""The layer checker can fail: on tests/layers/fixtures/ it reports exactly the one planted violation
of each broken tree (exit 1) and nothing on the clean tree (exit 0). Run by ctest as
`layers.checker_reports_an_upward_include`."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "fixtures")
cases = [  # tree, expected exit status, expected stdout
    ("clean", 0, ""),
    ("upward", 1, "include/mesh/core/schema.hpp:4: <mesh/core/schema.hpp> (layer core) includes "
                  "<mesh/wire/codec.hpp> (layer wire)\n"),
    ("library", 1, "include/mesh/wire/frame.hpp:3: <mesh/wire/frame.hpp> (layer wire) includes "
                   "<zmq.hpp> (external zmq)\n"),
]
failed = 0
for tree, status, stdout in cases:
    r = subprocess.run([sys.executable, os.path.join(here, "check_layers.py"),
                        "--include", os.path.join(fixtures, tree, "include"),
                        "--table", os.path.join(fixtures, "layers.md")],
                       capture_output=True, text=True)
    if r.returncode != status or r.stdout != stdout:
        failed += 1
        print(f"FAIL fixture '{tree}': expected exit {status} and stdout\n{stdout!r}\n"
              f"got exit {r.returncode} and stdout\n{r.stdout!r}\nstderr: {r.stderr}")
    else:
        print(f"ok   fixture '{tree}': exit {status}, {stdout.count(chr(10))} violation(s) as expected")
sys.exit(1 if failed else 0)
