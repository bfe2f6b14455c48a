# latency_cdf.gp - the distribution of end-to-end latency over the whole run
# (latency_cdf.csv): the fraction of committed records at or below each latency.
load plotsdir.'/common.gp'
set title title.': latency distribution (percentiles: '.latnote.')'
set xlabel 'end-to-end latency (ms)'
set ylabel 'fraction of committed records'
set yrange [0:1.02]
set ytics 0.1
set arrow from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 2 lc rgb '#888888'
set arrow from graph 0, first 0.99 to graph 1, first 0.99 nohead dt 2 lc rgb '#888888'
set label 'p50' at graph 0.01, first 0.52 tc rgb '#555555'
set label 'p99' at graph 0.01, first 0.965 tc rgb '#555555'
plot datadir.'/latency_cdf.csv' using 1:2 with steps lw 2 lc rgb '#1f77b4' title 'CDF'
