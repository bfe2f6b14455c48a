# throughput.gp - records emitted by the sources and committed by the sinks per second
# of simulated time (throughput.csv), with checkpoint completions, faults and failovers
# marked (markers.csv).
load plotsdir.'/common.gp'
set title title.': throughput'
set xlabel 'simulated time (s)'
set ylabel 'records per second'
stats datadir.'/throughput.csv' using 4 nooutput
top = STATS_max
stats datadir.'/throughput.csv' using 5 nooutput
top = (STATS_max > top ? STATS_max : top)
top = (top > 0 ? top * 1.05 : 1)
set yrange [0:top * 1.05]
plot datadir.'/throughput.csv' using 1:4 with steps lw 1.5 lc rgb '#1f77b4' title 'emitted', \
     datadir.'/throughput.csv' using 1:5 with steps lw 1.5 lc rgb '#2ca02c' title 'committed', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'complete', top)) with impulses \
         lc rgb '#888888' title 'checkpoint completed', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'fault', top)) with impulses \
         lw 2 lc rgb '#d62728' title 'fault', \
     datadir.'/markers.csv' using 1:(mark(strcol(2), 'failover', top)) with impulses \
         lw 2 lc rgb '#ff7f0e' title 'failover'
