#!/usr/bin/env python3
"""Aggregates the raw JSON of mesh's benchmarks into one file, a markdown table and plots.

    python3 benchmarks/tools/aggregate.py --raw benchmarks/results/raw \
        --out benchmarks/results/latest.json --docs docs/perf [--quick] [--no-plots]

Reads every *.json in --raw (the outputs of build-bench/benchmarks/*/mesh_bench_* and of
benchmarks/compile_time/run.sh, as benchmarks/run.sh saves them, plus run.sh's meta.json), and
writes:
  --out                   machine facts, library versions, and per benchmark / workload / metric
                          / system the median, min, max and runs, with mesh/peer ratios; for
                          timed cases also the duration and each run's rounds and operations;
  --docs/table.md         markdown tables of the medians (mesh, each peer, mesh/peer);
  --plot-data/*.dat,*.gp  gnuplot data and the generated settings the scripts in
                          benchmarks/tools/*.gp load;
  --docs/*.svg            throughput.svg, latency.svg, compile.svg (gnuplot; --no-plots skips).

Defensive by design: any system found in a result is kept and plotted (e.g. "caf" when the CAF
backends are built); an expected peer that is absent is skipped with a note in the JSON and the
table. Python 3 standard library only.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(TOOLS, "..", ".."))

# Display names, colors and the order of systems in tables and plots. Unknown systems are kept,
# appended in the order met, with a grey.
SYSTEMS = {
    "mesh": ("mesh", "#1f5fbf"),
    "mesh_insecure": ("mesh insecure", "#8fb3e8"),
    "mesh_workers": ("mesh_workers", "#17a2b8"),
    "mesh_no_spin": ("mesh_no_spin", "#c9a227"),
    "caf": ("CAF", "#e8743b"),
    "raw_cppzmq": ("raw cppzmq", "#3f9f4f"),
    "raw_cppzmq_curve": ("raw cppzmq CURVE", "#9fd4a8"),
    "tbb": ("oneTBB flow_graph", "#8a55c9"),
    "baseline_inline_map": ("inline map (floor)", "#9a9a9a"),
    "std_hash": ("std::hash", "#9a9a9a"),
    "wall": ("wall time", "#1f5fbf"),
    "cpu": ("CPU time (user+sys)", "#8fb3e8"),
}
EXTRA_COLORS = ["#c9a227", "#17a2b8", "#d6336c", "#6c757d"]

# Peers each benchmark is expected to have; a missing one is reported in "notes".
EXPECTED_PEERS = {
    "actor": ["caf", "baseline_inline_map"],
    "remote_call": ["caf", "raw_cppzmq", "raw_cppzmq_curve", "mesh_insecure"],
    "mesh.flow": ["tbb"],
    "shard_for": ["std_hash"],
}

# Ratios between two systems other than mesh, shown after the mesh / peer columns: the remote
# benchmark's "mesh" runs with CURVE (the default), so its like-for-like floor is raw cppzmq with
# CURVE (a mesh / peer column); mesh_insecure / raw cppzmq is the plain-TCP like-for-like ratio.
EXTRA_RATIOS = {
    "remote_call": [("mesh_insecure", "raw_cppzmq")],
}

BENCHMARK_TITLES = {
    "actor": "Local actors, one node, no sockets (benchmarks/actor)",
    "remote_call": "Remote calls, 2 processes over loopback TCP, 64-byte payload (benchmarks/cluster)",
    "mesh.flow": "Dataflow (benchmarks/flow)",
    "shard_for": "Placement hash shard_for (benchmarks/shard)",
}

# (benchmark, workload, metric) -> short label for plots. Workload/metric names not listed get
# a label made from their names.
PLOT_LABELS = {
    ("actor", "activations", "activations_per_s"): "local: activations",
    ("actor", "hot_actor", "calls_per_s"): "local: hot actor",
    ("actor", "sequential", "calls_per_s"): "local: sequential",
    ("actor", "throughput", "calls_per_s"): "local: async, 1k actors",
    ("remote_call", "remote", "sequential_calls_per_s"): "remote: sequential",
    ("remote_call", "remote", "pipelined_16_calls_per_s"): "remote: 16 outstanding",
    ("remote_call", "remote", "pipelined_256_calls_per_s"): "remote: 256 outstanding",
    ("mesh.flow", "pipeline", "items_per_s"): "flow: pipeline",
    ("mesh.flow", "broadcast", "deliveries_per_s"): "flow: broadcast",
}


def system_name(s):
    return SYSTEMS.get(s, (s, None))[0]


# ---- statistics and formatting ------------------------------------------------------------------

def stat_of(values):
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values), "runs": values}


# What a timed case did in each run (benchmarks/common/timed.hpp's work_log): the duration per
# run and, one value per run, the rounds, operations and seconds inside the rounds.
WORK_KEYS = ("duration_s", "rounds", "operations", "timed_seconds")


def work_of(obj):
    """The work_log fields of a benchmark's JSON object, or None for a count-based case."""
    if not isinstance(obj, dict) or not isinstance(obj.get("rounds"), list):
        return None
    return {k: obj[k] for k in WORK_KEYS if k in obj}


def merge_work(parts):
    """Work logs of separate processes (shard_for) -> one log, runs in process order."""
    parts = [w for w in parts if w]
    if not parts:
        return None
    out = {"duration_s": parts[0].get("duration_s")}
    for k in WORK_KEYS[1:]:
        out[k] = [v for w in parts for v in (w.get(k) or [])]
    return out


def stat_from_summary(obj, n=None, work=None):
    """{"median","min","max"[,"runs"][, work fields]} as the benchmarks print it -> our stat
    object; `work` (the backend's work_log, actor) when the fields sit next to the metrics."""
    if not isinstance(obj, dict) or not isinstance(obj.get("median"), (int, float)):
        return None
    runs = obj.get("runs") if isinstance(obj.get("runs"), list) else None
    med = float(obj["median"])
    lo = obj.get("min") if isinstance(obj.get("min"), (int, float)) else med
    hi = obj.get("max") if isinstance(obj.get("max"), (int, float)) else med
    out = {"median": med, "min": float(lo), "max": float(hi),
           "n": len(runs) if runs is not None else n,
           "runs": [float(v) for v in runs if isinstance(v, (int, float))] if runs is not None else None}
    w = work or work_of(obj)
    if w:
        out["work"] = w
    return out


def unit_of(metric, hint=None):
    if hint:
        return hint
    if metric.endswith("_per_s"):
        return metric[: -len("_per_s")].split("_")[-1] + "/s"
    if metric.endswith("_ns"):
        return "ns"
    if metric.endswith("_us"):
        return "us"
    if "bytes" in metric:
        return "B"
    return ""


def higher_is_better(metric):
    return metric.endswith("_per_s")


def fmt_value(v, unit):
    if v is None:
        return "—"
    if unit.endswith("/s"):
        if v >= 1e6:
            return f"{v / 1e6:.3g} M/s"
        if v >= 1e3:
            return f"{v / 1e3:.3g} k/s"
        return f"{v:.3g} /s"
    if unit == "ns":
        if v >= 1e6:
            return f"{v / 1e6:.3g} ms"
        if v >= 1e3:
            return f"{v / 1e3:.3g} µs"
        return f"{v:.3g} ns"
    if unit == "us":
        if v >= 1e3:
            return f"{v / 1e3:.3g} ms"
        return f"{v:.3g} µs"
    if unit == "B":
        return f"{v:.0f} B"
    if unit == "s":
        return f"{v:.1f} s"
    if unit == "MiB":
        return f"{v:.0f} MiB"
    return f"{v:.4g} {unit}".strip()


def fmt_short(v):
    """Compact number for bar labels: 1.4M, 176k, 950."""
    if v is None:
        return ""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


# ---- reading the raw outputs ---------------------------------------------------------------------

class Results:
    def __init__(self):
        self.cases = {}  # (benchmark, workload, metric) -> case dict
        self.order = []
        self.notes = []
        self.sources = {}  # benchmark -> [file names]
        self.info = {}  # benchmark -> dict of facts from its JSON

    def add(self, benchmark, workload, metric, system, st, unit=None, params=None, source=None):
        if st is None:
            return
        key = (benchmark, workload, metric)
        case = self.cases.get(key)
        if case is None:
            case = {"benchmark": benchmark, "workload": workload, "metric": metric,
                    "unit": unit_of(metric, unit), "higher_is_better": higher_is_better(metric),
                    "params": params or {}, "systems": {}, "sources": {}}
            self.cases[key] = case
            self.order.append(key)
        if system in case["systems"]:  # first file wins (the benchmark's own run before extras)
            self.notes.append(f"{benchmark}/{workload}/{metric}: second '{system}' result in {source} ignored")
            return
        case["systems"][system] = st
        case["sources"][system] = source


def stat_dicts(obj):
    return {k: v for k, v in obj.items() if isinstance(v, dict) and isinstance(v.get("median"), (int, float))}


def read_actor(res, data, src):
    workloads = data.get("workloads") or {}
    for wname, w in workloads.items():
        if not isinstance(w, dict):
            continue
        params = w.get("params") if isinstance(w.get("params"), dict) else {}
        for system, figs in w.items():
            if system in ("params", "target") or not isinstance(figs, dict) or system.startswith("ratio"):
                continue
            metrics = stat_dicts(figs)
            if not metrics:
                continue
            work = work_of(figs)  # one per backend and workload, shared by its metrics
            for metric, s in metrics.items():
                res.add("actor", wname, metric, system, stat_from_summary(s, work=work), params=params, source=src)
            if figs.get("failed_calls"):
                res.notes.append(f"actor/{wname}/{system}: {figs['failed_calls']} calls failed")
            if figs.get("checks_passed") is False:
                res.notes.append(f"actor/{wname}/{system}: sanity check failed")
    info = res.info.setdefault("actor", {})
    if isinstance(data.get("config"), dict) and "duration_s" in data["config"]:
        info.setdefault("duration_s", data["config"]["duration_s"])
    for k in ("mesh_version", "config", "machine", "sizes"):
        if k in data and k not in info:
            info[k] = data[k]


def read_metric_major(res, benchmark, workload_of, data, src, units=None):
    """Shapes {"<metric>": {"<system>": {median,min,max}, ...}, ...} (remote_call, mesh.flow)."""
    n = data.get("runs") if isinstance(data.get("runs"), int) else None
    info = res.info.setdefault(benchmark, {})
    for k in ("duration_s", "duration_rule", "calls_per_round"):
        if k in data:
            info.setdefault(k, data[k])
    for metric_key, obj in data.items():
        if not isinstance(obj, dict):
            continue
        systems = stat_dicts(obj)
        if not systems:
            continue
        workload, metric, unit = workload_of(metric_key, obj)
        params = {k: v for k, v in obj.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and not k.endswith("_over_tbb") and not k.endswith("_over_raw") and "over" not in k}
        if isinstance(data.get("calls_per_round"), dict):  # remote_call: per case
            per = data["calls_per_round"].get("sequential" if metric_key.startswith("sequential") else "pipelined")
            if per is not None:
                params["calls_per_round"] = per
        for system, s in systems.items():
            res.add(benchmark, workload, metric, system, stat_from_summary(s, n), unit=unit, params=params, source=src)


def remote_workload(metric_key, obj):
    return "remote", metric_key, None


def flow_workload(metric_key, obj):
    unit = obj.get("unit") if isinstance(obj.get("unit"), str) else "items/s"
    metric = unit.replace("/s", "_per_s").replace("/", "_per_")
    return metric_key, metric, unit


def read_shard(res, files):
    """Each shard file is one process: per id length, mesh's and std::hash's median ns over its
    runs. The figure is the median over processes, min/max over processes."""
    per = {}  # id_bytes -> {"mesh": [...], "std_hash": [...]}
    work = {}  # id_bytes -> {"mesh": [work_log per process], "std_hash": [...]}
    duration = None
    for path, data in files:
        duration = data.get("duration_s", duration)
        for row in data.get("results") or []:
            b = row.get("id_bytes")
            if b is None:
                continue
            d = per.setdefault(b, {"mesh": [], "std_hash": []})
            w = work.setdefault(b, {"mesh": [], "std_hash": []})
            if isinstance(row.get("mesh_ns"), (int, float)):
                d["mesh"].append(row["mesh_ns"])
                w["mesh"].append(work_of(row.get("mesh_work")))
            if isinstance(row.get("baseline_ns"), (int, float)):
                d["std_hash"].append(row["baseline_ns"])
                w["std_hash"].append(work_of(row.get("baseline_work")))
    for b in sorted(per):
        for system, vals in per[b].items():
            st = stat_of(vals)
            merged = merge_work(work[b][system])
            if st and merged:
                st["work"] = merged
            res.add("shard_for", f"{b}-byte ids", "ns_per_hash", system, st, unit="ns",
                    params={"id_bytes": b, "processes": len(files)}, source="shard-*.json")
    if files:
        res.info["shard_for"] = {"processes": len(files), "duration_s": duration, "statistic":
                                 "each process reports the median of its timed runs; figure: median over processes, "
                                 "min/max over processes"}


def read_compile(data):
    out = {}
    for key in ("small_schema", "large_schema"):
        s = data.get(key)
        if not isinstance(s, dict):
            continue
        entry = {"actors": s.get("actors"), "messages_per_actor": s.get("messages_per_actor"), "runs": s.get("runs")}
        for m in ("seconds", "cpu_seconds", "peak_rss_mib"):
            if isinstance(s.get(m), dict):
                entry[m] = stat_from_summary(s[m])
            elif isinstance(s.get(m), (int, float)):  # older run.sh: one number
                entry[m] = {"median": float(s[m]), "min": None, "max": None, "n": None, "runs": None}
        if "seconds" not in entry and isinstance(s.get("seconds_median"), (int, float)):
            entry["seconds"] = {"median": s["seconds_median"], "min": s.get("seconds_min"), "max": None,
                                "n": s.get("runs"), "runs": None}
        out[key] = entry
    for k in ("compiler", "command", "quick", "targets", "statistic"):
        if k in data:
            out[k] = data[k]
    return out


# ---- machine facts ---------------------------------------------------------------------------------

def run_cmd(args, cwd=None):
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


PACKAGES = ["libzmq3-dev", "cppzmq-dev", "libmsgpack-cxx-dev", "libboost-dev", "libcaf-dev", "libtbb-dev",
            "g++", "cmake", "gnuplot-nox", "gnuplot"]


def package_versions():
    out = {}
    for p in PACKAGES:
        v = run_cmd(["dpkg-query", "-W", "-f=${Version}", p])
        out[p] = v or None
    return out


def machine_facts(meta):
    cxx = meta.get("cxx") or "g++"
    facts = {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": mem_total_gib(),
        "kernel": platform.release(),
        "os": os_name(),
        "compiler": run_cmd([cxx, "--version"]).splitlines()[0] if run_cmd([cxx, "--version"]) else None,
        "cmake": (run_cmd(["cmake", "--version"]).splitlines() or [None])[0],
        "load_average_before": meta.get("load_before"),
        "load_average_after": meta.get("load_after"),
    }
    return facts


def git_facts():
    commit = run_cmd(["git", "-C", ROOT, "rev-parse", "HEAD"])
    dirty = run_cmd(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None,
            "branch": run_cmd(["git", "-C", ROOT, "rev-parse", "--abbrev-ref", "HEAD"]) or None}


# ---- outputs ---------------------------------------------------------------------------------------

def ordered_systems(systems):
    known = [s for s in SYSTEMS if s in systems]
    return known + [s for s in systems if s not in SYSTEMS]


def add_ratios(case):
    m = case["systems"].get("mesh")
    case["mesh_over_peer"] = {}
    for s, st in case["systems"].items():
        if s == "mesh" or m is None:
            continue
        case["mesh_over_peer"][s] = (m["median"] / st["median"]) if st["median"] else None
    for a, b in EXTRA_RATIOS.get(case["benchmark"], []):
        sa, sb = case["systems"].get(a), case["systems"].get(b)
        if sa is not None and sb is not None:
            case.setdefault("other_ratios", {})[f"{a}_over_{b}"] = (sa["median"] / sb["median"]) if sb["median"] else None


def color_map(all_systems):
    colors, extra = {}, list(EXTRA_COLORS)
    for s in all_systems:
        c = SYSTEMS.get(s, (None, None))[1]
        colors[s] = c or (extra.pop(0) if extra else "#555555")
    return colors


def write_bars(path_dat, path_inc, groups, colors, ylabel, title, log):
    """groups: [(label, {system: stat})]. Writes one data block per system (x, median, min, max,
    width, label) and the settings the bar panel script reads."""
    systems = ordered_systems([s for _, g in groups for s in g])
    systems = list(dict.fromkeys(systems))
    blocks = {s: [] for s in systems}
    for gi, (label, g) in enumerate(groups):
        present = [s for s in systems if s in g]
        k = len(present)
        if not k:
            continue
        w = 0.8 / k
        for j, s in enumerate(present):
            x = gi - 0.4 + w * (j + 0.5)
            st = g[s]
            lo = st["min"] if st["min"] is not None else st["median"]
            hi = st["max"] if st["max"] is not None else st["median"]
            blocks[s].append((x, st["median"], lo, hi, w * 0.92, fmt_short(st["median"])))
    systems = [s for s in systems if blocks[s]]
    lows = [r[2] for s in systems for r in blocks[s] if r[2] > 0]
    highs = [r[3] for s in systems for r in blocks[s]]
    if log and lows:
        yr = (min(lows) / 2.5, max(highs) * 12)
    elif highs:
        yr = (0, max(highs) * 1.25 or 1)
    else:
        yr = (1, 10)
    with open(path_dat, "w") as f:
        f.write("# x median min max width label; one block per system, in the order of sys_names in the .inc.gp\n")
        for i, s in enumerate(systems):
            if i:
                f.write("\n\n")
            f.write(f"# {s}\n")
            for row in blocks[s]:
                f.write(f"{row[0]:.4f} {row[1]:.6g} {row[2]:.6g} {row[3]:.6g} {row[4]:.4f} \"{row[5]}\"\n")
    def q(s):
        return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'
    with open(path_inc, "w") as f:
        f.write("# generated by benchmarks/tools/aggregate.py\n")
        f.write(f"sys_n = {len(systems)}\n")
        if systems:
            f.write(f"array sys_names[{len(systems)}] = [{', '.join(q(system_name(s)) for s in systems)}]\n")
            f.write(f"array sys_colors[{len(systems)}] = [{', '.join(q(colors[s]) for s in systems)}]\n")
        f.write(f"groups_n = {len(groups)}\n")
        tics = ", ".join(f"{q(label)} {i}" for i, (label, _) in enumerate(groups))
        f.write(f"set xtics ({tics})\n" if groups else "unset xtics\n")
        bars = sum(len(b) for b in blocks.values())
        f.write(f"panel_label_rot = {90 if bars > 8 else 0}\n")
        f.write(f"panel_ymin = {yr[0]:.6g}\npanel_ymax = {yr[1]:.6g}\n")
        f.write(f"panel_ylabel = {q(ylabel)}\npanel_title = {q(title)}\npanel_log = {1 if log else 0}\n")
    return systems


def render(docs, plot_dir, notes):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        notes.append("gnuplot not found: no SVGs rendered (apt-get install gnuplot-nox)")
        return []
    made = []
    for name in ("throughput", "latency", "compile"):
        script = os.path.join(TOOLS, f"{name}.gp")
        out = os.path.join(docs, f"{name}.svg")
        cmd = [gnuplot, "-e", f"datadir='{plot_dir}'; outfile='{out}'; tools='{TOOLS}'", script]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            notes.append(f"gnuplot {name}.gp failed: {p.stderr.strip()[-400:]}")
        else:
            made.append(os.path.relpath(out, ROOT))
    return made


def md_table_for(benchmark, cases):
    systems = ordered_systems(list(dict.fromkeys(s for c in cases for s in c["systems"])))
    peers = [s for s in systems if s != "mesh"]
    extra = [(a, b) for a, b in EXTRA_RATIOS.get(benchmark, []) if any(f"{a}_over_{b}" in c.get("other_ratios", {})
                                                                      for c in cases)]
    head = (["workload", "metric", "runs"] + [system_name(s) for s in systems] + [f"mesh / {system_name(p)}" for p in peers]
            + [f"{system_name(a)} / {system_name(b)}" for a, b in extra])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cases:
        arrow = "↑" if c["higher_is_better"] else "↓"
        ns = sorted({st["n"] for st in c["systems"].values() if st.get("n")})
        row = [c["workload"].replace("_", " "), f"{c['metric']} {arrow}", "/".join(str(n) for n in ns) or "?"]
        for s in systems:
            st = c["systems"].get(s)
            row.append(fmt_value(st["median"], c["unit"]) if st else "—")
        for p in peers:
            r = c["mesh_over_peer"].get(p)
            row.append(f"{r:.3g}×" if r is not None else "—")
        for a, b in extra:
            r = c.get("other_ratios", {}).get(f"{a}_over_{b}")
            row.append(f"{r:.3g}×" if r is not None else "—")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def fmt_seconds(d):
    return f"{d:g} s"


def duration_note(doc):
    """The fixed-duration rule in one sentence, with the duration the run used."""
    d = doc.get("duration_s")
    if d is None:
        return "Cases are sized by count (no duration recorded)."
    others = sorted({v for v in (doc.get("durations_by_benchmark") or {}).values() if v is not None and v != d})
    extra = f" (some benchmark ran with {', '.join(fmt_seconds(v) for v in others)})" if others else ""
    return (f"Each timed case ran for **{fmt_seconds(d)} of wall-clock time per run and system**{extra}: whole rounds "
            "of the workload's count-sized shape (same window of outstanding requests, same ids) repeated until "
            "the time had passed, at least one round; rate = operations / time inside the rounds, latency "
            "percentiles over every call (rounds and operations per run in latest.json). Memory per activation and "
            "compile cost are count-based.")


def write_table(path, doc):
    q = doc["quick"]
    m = doc["machine"]
    out = []
    out.append("<!-- generated by benchmarks/tools/aggregate.py from benchmarks/results/latest.json; do not edit -->")
    if q:
        out.append("")
        out.append("> **QUICK SMOKE RUN** (`benchmarks/run.sh --quick`): tiny sizes, few runs — these figures are "
                   "not meaningful and must not be quoted.")
    out.append("")
    load = m.get("load_average_before")
    out.append(f"Measured {doc['date'][:10]} at commit `{(doc['git'].get('commit') or '?')[:10]}` on "
               f"{m.get('cores')} cores ({m.get('cpu_model')}), {m.get('memory_gib')} GiB, {m.get('os')}, "
               f"kernel {m.get('kernel')}, {m.get('compiler')}" + (f"; load average before the run {load}" if load else "")
               + ". Every figure is the median over the runs shown (min/max in latest.json and the plots); all "
                 "systems ran on the same machine in the same command. " + duration_note(doc) + " Ratio = mesh "
                 "median / peer median: for ↑ metrics above 1 means mesh is faster, for ↓ metrics below 1 means mesh "
                 "is faster.")
    by_bench = {}
    for c in doc["results"]:
        by_bench.setdefault(c["benchmark"], []).append(c)
    for b, cases in by_bench.items():
        out.append("")
        out.append(f"**{BENCHMARK_TITLES.get(b, b)}**")
        out.append("")
        out.extend(md_table_for(b, cases))
    comp = doc.get("compile") or {}
    if comp.get("small_schema") or comp.get("large_schema"):
        out.append("")
        out.append(f"**Compile cost of one TU including `<mesh/mesh.hpp>`** (`{comp.get('command', '')}`, {comp.get('compiler', '')})")
        out.append("")
        out.append("| schema | runs | wall s, median (min–max) | CPU s | peak RSS MiB, median (min–max) |")
        out.append("|---|---|---|---|---|")
        for key in ("small_schema", "large_schema"):
            s = comp.get(key)
            if not s:
                continue
            def rng(st, fmt):
                if not st:
                    return "—"
                if st.get("min") is None:
                    return fmt.format(st["median"])
                return f"{fmt.format(st['median'])} ({fmt.format(st['min'])}–{fmt.format(st['max'])})"
            out.append(f"| {s['actors']} actors × {s['messages_per_actor']} messages | {s.get('runs')} | "
                       f"{rng(s.get('seconds'), '{:.1f}')} | {rng(s.get('cpu_seconds'), '{:.1f}')} | "
                       f"{rng(s.get('peak_rss_mib'), '{:.0f}')} |")
    if doc["notes"]:
        out.append("")
        out.append("Notes: " + "; ".join(doc["notes"]) + ".")
    out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", default=os.path.join(ROOT, "benchmarks", "results", "raw"))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "latest.json"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "perf"))
    ap.add_argument("--plot-data", default=os.path.join(ROOT, "benchmarks", "results", "plot"))
    ap.add_argument("--quick", action="store_true", help="mark the results as a quick smoke run")
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()

    meta = {}
    meta_path = os.path.join(a.raw, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    res = Results()
    compile_data = None
    shard_files = []
    files = sorted(glob.glob(os.path.join(a.raw, "*.json")))
    # The benchmarks' own files first, extras (e.g. caf-*.json) after: the first result for a
    # (workload, metric, system) wins.
    files.sort(key=lambda p: (os.path.basename(p).startswith("caf"), p))
    for path in files:
        name = os.path.basename(path)
        if name == "meta.json":
            continue
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            res.notes.append(f"{name}: not valid JSON ({e.__class__.__name__}), skipped")
            continue
        if not isinstance(data, dict):
            res.notes.append(f"{name}: not a JSON object, skipped")
            continue
        b = data.get("benchmark")
        if data.get("error"):
            res.notes.append(f"{name}: {data['error']}")
        res.sources.setdefault(b or "?", []).append(name)
        if b == "actor":
            read_actor(res, data, name)
        elif b == "remote_call":
            read_metric_major(res, "remote_call", remote_workload, data, name)
        elif b == "mesh.flow":
            read_metric_major(res, "mesh.flow", flow_workload, data, name)
            res.info.setdefault("mesh.flow", {"baseline": data.get("baseline"), "workers": data.get("workers")})
        elif b == "shard_for":
            shard_files.append((name, data))
        elif b == "compile_time":
            compile_data = read_compile(data)
        else:
            res.notes.append(f"{name}: unknown benchmark '{b}', skipped")
    read_shard(res, shard_files)

    bench_order = {b: i for i, b in enumerate(EXPECTED_PEERS)}
    res.order.sort(key=lambda k: bench_order.get(k[0], len(bench_order)))  # stable: workloads keep their order
    results = [res.cases[k] for k in res.order]
    for c in results:
        add_ratios(c)
        del c["sources"]
    present_benchmarks = {c["benchmark"] for c in results}
    for b, peers in EXPECTED_PEERS.items():
        if b not in present_benchmarks:
            res.notes.append(f"no {b} results")
            continue
        have = {s for c in results if c["benchmark"] == b for s in c["systems"]}
        for p in peers:
            if p not in have:
                res.notes.append(f"{system_name(p)}: absent from the {b} results, skipped")
    if compile_data is None:
        res.notes.append("no compile_time results")

    steps = meta.get("steps") or {}
    failed = [s for s, v in steps.items() if isinstance(v, dict) and v.get("exit_status") not in (0, None)]
    for s in failed:
        res.notes.append(f"step {s} exited with status {steps[s]['exit_status']}")

    quick = bool(a.quick or meta.get("quick"))
    durations = {b: i.get("duration_s") for b, i in res.info.items() if isinstance(i, dict) and "duration_s" in i}
    duration = meta.get("duration_s")
    known = [v for v in durations.values() if isinstance(v, (int, float))]
    if duration is None and known:  # aggregating raw files without run.sh's meta.json
        duration = statistics.median(known)
    doc = {
        "schema": "mesh-bench-results/1",
        "quick": quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": meta.get("command"),
        "git": git_facts(),
        "machine": machine_facts(meta),
        "packages": package_versions(),
        "build": meta.get("build"),
        "steps": steps,
        "systems": {s: system_name(s) for s in ordered_systems(list(dict.fromkeys(
            s for c in results for s in c["systems"])))},
        "statistic": "per figure: median, min and max over the runs (n); ratios compare medians (mesh / peer)",
        "duration_s": duration,
        "durations_by_benchmark": durations,
        "duration_rule": "timed cases: each run of each system repeats the case's count-sized round until duration_s "
                         "of wall-clock time have passed (at least one whole round); rate = operations / time inside "
                         "the rounds; 'work' per figure lists each run's rounds, operations and timed seconds. "
                         "Memory per activation and compile cost are count-based.",
        "results": results,
        "compile": compile_data,
        "benchmark_info": res.info,
        "notes": res.notes,
        "raw_files": [os.path.basename(p) for p in files],
    }

    os.makedirs(a.docs, exist_ok=True)
    os.makedirs(a.plot_data, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

    # Plot data.
    all_systems = ordered_systems(list(dict.fromkeys(s for c in results for s in c["systems"])))
    colors = color_map(all_systems + ["mesh"])
    def label_for(c):
        return PLOT_LABELS.get((c["benchmark"], c["workload"], c["metric"]),
                               f"{c['workload']} {c['metric']}".replace("_", " "))
    tp = [(label_for(c), c["systems"]) for c in results
          if c["metric"].endswith("_per_s") and c["benchmark"] in ("actor", "remote_call", "mesh.flow")]
    q_mark = " — QUICK SMOKE RUN, not meaningful" if quick else ""
    write_bars(os.path.join(a.plot_data, "throughput.dat"), os.path.join(a.plot_data, "throughput.inc.gp"), tp,
               colors, "operations per second (log scale)", "Throughput, median of runs, whiskers min–max" + q_mark, True)
    def find(b, w, m):
        return res.cases.get((b, w, m))
    local = [(lbl, c["systems"]) for lbl, c in (("p50", find("actor", "sequential", "p50_ns")),
                                                  ("p99", find("actor", "sequential", "p99_ns"))) if c]
    remote = [(lbl, c["systems"]) for lbl, c in (("p50", find("remote_call", "remote", "sequential_p50_us")),
                                                   ("p99", find("remote_call", "remote", "sequential_p99_us"))) if c]
    write_bars(os.path.join(a.plot_data, "latency_local.dat"), os.path.join(a.plot_data, "latency_local.inc.gp"), local,
               colors, "ns per call (log scale)", "Local sequential call, one warm actor", True)
    write_bars(os.path.join(a.plot_data, "latency_remote.dat"), os.path.join(a.plot_data, "latency_remote.inc.gp"),
               remote, colors, "µs per round trip (log scale)", "Remote sequential call, 2 processes, loopback", True)
    with open(os.path.join(a.plot_data, "latency.inc.gp"), "w") as f:
        f.write(f'latency_title = "Sequential call latency, median of runs, whiskers min–max{q_mark}"\n')
    secs, mib = [], []
    for key in ("small_schema", "large_schema"):
        s = (compile_data or {}).get(key)
        if not s:
            continue
        lbl = f"{s['actors']} actors × {s['messages_per_actor']} msgs ({s.get('runs')} runs)"
        if s.get("seconds"):
            secs.append((lbl, {k: v for k, v in (("wall", s["seconds"]), ("cpu", s.get("cpu_seconds"))) if v}))
        if s.get("peak_rss_mib"):
            mib.append((lbl, {"mesh": s["peak_rss_mib"]}))
    write_bars(os.path.join(a.plot_data, "compile_seconds.dat"), os.path.join(a.plot_data, "compile_seconds.inc.gp"),
               secs, color_map(["wall", "cpu"]), "seconds", "Compile time", False)
    write_bars(os.path.join(a.plot_data, "compile_mib.dat"), os.path.join(a.plot_data, "compile_mib.inc.gp"),
               mib, colors, "peak RSS, MiB", "Compiler peak memory", False)
    with open(os.path.join(a.plot_data, "compile.inc.gp"), "w") as f:
        f.write(f'compile_title = "Compiling one TU with <mesh/mesh.hpp>, median of runs, whiskers min–max{q_mark}"\n')

    doc["figures"] = [] if a.no_plots else render(a.docs, a.plot_data, res.notes)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    write_table(os.path.join(a.docs, "table.md"), doc)
    print(f"wrote {os.path.relpath(a.out, ROOT)}, {os.path.relpath(os.path.join(a.docs, 'table.md'), ROOT)}"
          + (", " + ", ".join(doc["figures"]) if doc["figures"] else ""), file=sys.stderr)
    for n in res.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
