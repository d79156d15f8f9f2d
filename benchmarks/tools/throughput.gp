# docs/perf/throughput.svg: operations per second per workload per system (log scale).
#   gnuplot -e "datadir='benchmarks/results/plot'; outfile='docs/perf/throughput.svg'; tools='benchmarks/tools'" benchmarks/tools/throughput.gp
if (!exists("datadir")) datadir = "benchmarks/results/plot"
if (!exists("outfile")) outfile = "docs/perf/throughput.svg"
if (!exists("tools")) tools = "benchmarks/tools"
set encoding utf8
set terminal svg size 1100,560 dynamic font "Helvetica,13" background "#ffffff"
set output outfile
xtic_rotate = 30
set key outside below center horizontal Left reverse width 1 noenhanced
call tools."/bars.gp" datadir."/throughput.dat" datadir."/throughput.inc.gp"
set output
