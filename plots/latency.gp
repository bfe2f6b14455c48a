# latency.gp - end-to-end latency (source emission -> sink commit) per time bin:
# median, 99th percentile and maximum (latency.csv), with checkpoint completions,
# faults and failovers marked (markers.csv). With a two-phase-commit sink, latency is
# bounded below by the checkpoint interval: records become visible on commit.
load plotsdir.'/common.gp'
set title title.': end-to-end latency'
set xlabel 'simulated time (s)'
set ylabel 'latency (ms)'
stats datadir.'/latency.csv' using 6 nooutput
top = (STATS_max > 0 ? STATS_max * 1.05 : 1)
set yrange [0:top * 1.05]
plot datadir.'/latency.csv' using 1:3 with linespoints pt 7 ps 0.4 lc rgb '#1f77b4' title 'p50', \
     datadir.'/latency.csv' using 1:5 with linespoints pt 7 ps 0.4 lc rgb '#9467bd' title 'p99', \
     datadir.'/latency.csv' using 1:6 with lines lc rgb '#cccccc' title 'max', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'complete', top)) with impulses \
         lc rgb '#888888' title 'checkpoint completed', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'fault', top)) with impulses \
         lw 2 lc rgb '#d62728' title 'fault', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'failover', top)) with impulses \
         lw 2 lc rgb '#ff7f0e' title 'failover'
