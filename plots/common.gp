# common.gp - settings shared by every ckptsim plot. Loaded first by each script.
# Variables set by 'ckptsim report' (gnuplot -e): plotsdir, datadir, out, fmt (svg|png),
# title, latnote (how the percentiles were computed), and height (pixels).
# The output is deterministic for the same input.
if (!exists("fmt")) fmt = 'svg'
if (!exists("height")) height = 480
if (!exists("latnote")) latnote = 'exact'
if (fmt eq 'png') {
    set terminal pngcairo size 1100,height font 'sans,10' noenhanced
} else {
    set terminal svg size 1100,height font 'sans,10' noenhanced
}
set output out
set datafile separator ','
set grid
set key outside right top
# Fixed margins: the panels of a multiplot line up whatever their keys hold.
set lmargin at screen 0.07
set rmargin at screen 0.78
set style fill transparent solid 0.22 noborder

# Fault kinds (faults.csv column 3) and their colours: the shading of a fault's interval.
kindcol(k) = k eq 'crash' ? 0xd62728 : k eq 'partition' ? 0x9467bd : \
             k eq 'spike' ? 0xff7f0e : k eq 'pause' ? 0x8c564b : \
             k eq 'zk-leader-change' ? 0x1f77b4 : k[1:3] eq 'zk-' ? 0x17becf : \
             k[1:7] eq 'notify-' ? 0xbcbd22 : 0x7f7f7f
mark(kind, want, top) = (kind eq want) ? top : NaN
is(kind, want) = (kind eq want)

# The run's time span, for the minimum width of instant faults (0.4% of the axis).
tmax = 1
if (exists("datadir")) {
    stats datadir.'/throughput.csv' using 1 nooutput
    tmax = STATS_max > 0 ? STATS_max : 1
}
halfw(a, b) = (b - a) / 2 > tmax * 0.002 ? (b - a) / 2 : tmax * 0.002

# EVENTS (a macro appended to a plot command, with 'top' the y maximum):
#  - every fault an interval shaded in its kind's colour, labelled at the top;
#  - failovers, restores and leader changes labelled dashed lines (labels at the bottom);
#  - completed checkpoints grey ticks on the x axis, aborted ones red crosses.
EVENTS = "datadir.'/faults.csv' using (($1+$2)/2):(top/2):(halfw($1,$2)):(top/2):(kindcol(strcol(3))) with boxxyerror lc rgb variable notitle, \
  datadir.'/faults.csv' using 1:(top*0.99):5 with labels rotate by 90 right offset 0.6,0 font ',8' tc rgb '#600000' notitle, \
  datadir.'/markers.csv' using 1:(is(strcol(2),'failover') ? top : NaN) with impulses dt 2 lw 1.5 lc rgb '#ff7f0e' title 'failover', \
  datadir.'/markers.csv' using 1:(is(strcol(2),'restore') ? top : NaN) with impulses dt 3 lw 1.5 lc rgb '#2ca02c' title 'restore', \
  datadir.'/markers.csv' using 1:(is(strcol(2),'leader') ? top : NaN) with impulses dt 4 lw 1.5 lc rgb '#1f77b4' title 'leader change', \
  datadir.'/markers.csv' using 1:(is(strcol(2),'failover') ? top*0.05 : NaN):3 with labels rotate by 90 left offset -0.6,0 font ',8' tc rgb '#b35900' notitle, \
  datadir.'/markers.csv' using 1:(is(strcol(2),'restore') ? top*0.05 : NaN):3 with labels rotate by 90 left offset 0.6,0 font ',8' tc rgb '#1d6b1d' notitle, \
  datadir.'/markers.csv' using 1:(is(strcol(2),'leader') ? top*0.55 : NaN):3 with labels rotate by 90 left offset -0.6,0 font ',8' tc rgb '#1f4e99' notitle, \
  datadir.'/markers.csv' using 1:(is(strcol(2),'complete') ? 0 : NaN):(0):(top*0.03) with vectors nohead lw 1.5 lc rgb '#555555' title 'checkpoint completed', \
  datadir.'/markers.csv' using 1:(is(strcol(2),'abort') ? top*0.015 : NaN) with points pt 2 ps 1.2 lw 2 lc rgb '#d62728' title 'checkpoint aborted'"
