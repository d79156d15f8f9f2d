# docs/perf/compile.svg: wall seconds and compiler peak RSS for one TU including <mesh/mesh.hpp>
# with a small (3 x 3) and a large (50 x 10) schema.
#   gnuplot -e "datadir='benchmarks/results/plot'; outfile='docs/perf/compile.svg'; tools='benchmarks/tools'" benchmarks/tools/compile.gp
if (!exists("datadir")) datadir = "benchmarks/results/plot"
if (!exists("outfile")) outfile = "docs/perf/compile.svg"
if (!exists("tools")) tools = "benchmarks/tools"
set encoding utf8
set terminal svg size 1000,460 dynamic font "Helvetica,13" background "#ffffff"
set output outfile
load datadir."/compile.inc.gp"
set multiplot layout 1,2 title compile_title noenhanced
set key inside right top vertical Left reverse noenhanced
call tools."/bars.gp" datadir."/compile_seconds.dat" datadir."/compile_seconds.inc.gp"
set key off
call tools."/bars.gp" datadir."/compile_mib.dat" datadir."/compile_mib.inc.gp"
unset multiplot
set output
