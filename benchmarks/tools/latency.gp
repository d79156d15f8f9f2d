# docs/perf/latency.svg: p50/p99 of a sequential call per system, local (ns) and remote (µs).
#   gnuplot -e "datadir='benchmarks/results/plot'; outfile='docs/perf/latency.svg'; tools='benchmarks/tools'" benchmarks/tools/latency.gp
if (!exists("datadir")) datadir = "benchmarks/results/plot"
if (!exists("outfile")) outfile = "docs/perf/latency.svg"
if (!exists("tools")) tools = "benchmarks/tools"
set encoding utf8
set terminal svg size 1100,520 dynamic font "Helvetica,13" background "#ffffff"
set output outfile
load datadir."/latency.inc.gp"
set multiplot layout 1,2 title latency_title noenhanced
set key inside left top vertical Left reverse noenhanced
call tools."/bars.gp" datadir."/latency_local.dat" datadir."/latency_local.inc.gp"
call tools."/bars.gp" datadir."/latency_remote.dat" datadir."/latency_remote.inc.gp"
unset multiplot
set output
