# compare.gp - aligned vs unaligned checkpoints, e.g. under backpressure: p99 latency
# over time and checkpoint durations of two runs (adir/alabel, bdir/blabel).
height = 720
load plotsdir.'/common.gp'
set multiplot layout 2,1 title title
set xlabel 'simulated time (s)'
set ylabel 'p99 latency (ms)'
set yrange [0:*]
plot adir.'/latency.csv' using 1:5 with lines lw 1.5 lc rgb '#1f77b4' title alabel, \
     bdir.'/latency.csv' using 1:5 with lines lw 1.5 lc rgb '#d62728' title blabel
set xlabel 'checkpoint id'
set ylabel 'checkpoint duration (ms)'
plot adir.'/checkpoints.csv' using 1:(strcol(4) eq 'completed' ? $5 : NaN) \
         with linespoints lc rgb '#1f77b4' title alabel, \
     bdir.'/checkpoints.csv' using 1:(strcol(4) eq 'completed' ? $5 : NaN) \
         with linespoints lc rgb '#d62728' title blabel
unset multiplot
