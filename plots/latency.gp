# latency.gp - end-to-end latency (source emission -> sink commit) per time bin: median,
# 99th percentile and maximum (latency.csv). Lines break where nothing was committed
# for longer than usual (an outage): latency.csv has a blank line there. Faults shaded
# by kind, failovers / restores / leader changes marked. With a two-phase-commit sink,
# latency is bounded below by the checkpoint interval: records become visible on commit.
load plotsdir.'/common.gp'
set title title.': end-to-end latency (percentiles: '.latnote.')'
set xlabel 'simulated time (s)'
set ylabel 'latency (ms)'
stats datadir.'/latency.csv' using 6 nooutput
set xrange [0:tmax]
top = (STATS_max > 0 ? STATS_max * 1.15 : 1)
set yrange [0:top]
plot datadir.'/latency.csv' using 1:3 with linespoints pt 7 ps 0.4 lw 1.5 lc rgb '#1f77b4' title 'p50', \
     datadir.'/latency.csv' using 1:5 with linespoints pt 7 ps 0.4 lw 1.5 lc rgb '#9467bd' title 'p99', \
     datadir.'/latency.csv' using 1:6 with linespoints pt 1 ps 0.4 lc rgb '#999999' title 'max', \
     @EVENTS
