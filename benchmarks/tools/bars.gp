# One panel of bars: one color per system, bars grouped per workload, whiskers from min to max,
# the median written above each bar. Called by throughput.gp, latency.gp and compile.gp:
#   call tools.'/bars.gp' 'panel.dat' 'panel.inc.gp'
# panel.dat and panel.inc.gp are written by benchmarks/tools/aggregate.py (columns: x median min
# max width label; one data block per system, in the order of sys_names).
load ARG2
set title panel_title noenhanced
set ylabel panel_ylabel noenhanced
set style fill solid 0.9 border rgb "#404040"
set grid ytics lc rgb "#dddddd" lt 1
set border 3 lc rgb "#404040"
set tics nomirror
set xtics scale 0 noenhanced
if (exists("xtic_rotate") && xtic_rotate != 0) { set xtics rotate by xtic_rotate right offset 0.5,0 }
set xrange [-0.6:(groups_n > 0 ? groups_n - 0.4 : 0.4)]
if (panel_log) { set logscale y; set format y "%.0s%c" } else { unset logscale y; set format y "%g" }
set yrange [panel_ymin:panel_ymax]
label_style = panel_label_rot ? "rotate by 90 left offset 0,0.5" : "center offset 0,0.7"
if (sys_n == 0) {
  set label 99 "no data" at graph 0.5, graph 0.5 center
  plot NaN notitle
  unset label 99
} else {
  plot for [i=1:sys_n] ARG1 index (i-1) using 1:2:5 with boxes lc rgb sys_colors[i] title sys_names[i], \
       for [i=1:sys_n] ARG1 index (i-1) using 1:3:(0):($4-$3) with vectors nohead lc rgb "#202020" lw 1.2 notitle, \
       for [i=1:sys_n] ARG1 index (i-1) using ($1-$5/6):3:($5/3):(0) with vectors nohead lc rgb "#202020" lw 1.2 notitle, \
       for [i=1:sys_n] ARG1 index (i-1) using ($1-$5/6):4:($5/3):(0) with vectors nohead lc rgb "#202020" lw 1.2 notitle, \
       for [i=1:sys_n] ARG1 index (i-1) using 1:4:6 with labels @label_style font ",10" tc rgb "#202020" notitle
}
