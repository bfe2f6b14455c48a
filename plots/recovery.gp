# recovery.gp - recovery time of every failover (failover -> job running again,
# recovery.csv), labelled with the failover time and the checkpoint restored.
load plotsdir.'/common.gp'
set title title.': recovery time'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xlabel 'failover (simulated time, restored checkpoint)'
set ylabel 'recovery (ms)'
set yrange [0:*]
stats datadir.'/recovery.csv' using 3 nooutput
set xrange [-1:(STATS_records > 4 ? STATS_records : 4)]
set xtics rotate by -30
plot datadir.'/recovery.csv' using 0:3:xtic(sprintf('%.3fs (chk %d)', $1, $5)) with boxes \
         lc rgb '#ff7f0e' title 'failover -> running'
