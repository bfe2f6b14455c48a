# throughput.gp - top: records emitted by the sources per second (per time bin) and
# records committed by the sinks, smoothed over one checkpoint interval (a
# two-phase-commit sink makes records visible only when a checkpoint completes, so the
# raw committed rate is a burst at each completion); bottom: cumulative records
# emitted and committed, the committed line a step at each commit (what became
# visible). Faults shaded by kind, failovers / restores / leader changes marked.
height = 760
load plotsdir.'/common.gp'
set multiplot layout 2,1 title title.': throughput'
set xlabel 'simulated time (s)'
set ylabel 'records per second'
set autoscale y
stats datadir.'/throughput.csv' using 4 nooutput
top = STATS_max
stats datadir.'/throughput.csv' using 8 nooutput
top = (STATS_max > top ? STATS_max : top)
top = (top > 0 ? top * 1.1 : 1)
set xrange [0:tmax]
set yrange [0:top]
plot datadir.'/throughput.csv' using 1:4 with steps lw 1.5 lc rgb '#1f77b4' title 'emitted', \
     datadir.'/throughput.csv' using 1:8 with lines lw 2 lc rgb '#2ca02c' \
         title 'committed (smoothed)', \
     @EVENTS
set ylabel 'records (cumulative)'
set autoscale
stats datadir.'/throughput.csv' using 6 nooutput
top = (STATS_max > 0 ? STATS_max * 1.1 : 1)
set xrange [0:tmax]
set yrange [0:top]
plot datadir.'/throughput.csv' using 1:6 with steps lw 1.5 lc rgb '#1f77b4' title 'emitted', \
     datadir.'/throughput.csv' using 1:7 with steps lw 2 lc rgb '#2ca02c' \
         title 'committed (visible)', \
     @EVENTS
unset multiplot
