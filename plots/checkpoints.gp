# checkpoints.gp - per checkpoint id (checkpoints.csv): the end-to-end duration split
# into Flink's phases of the subtask that acknowledged last (start delay: trigger -> its
# first barrier; alignment; synchronous snapshot; asynchronous upload), the end-to-end
# duration (the rest: acks travelling and the coordinator finalizing) in light grey, aborted checkpoints as red bars labelled with the reason; then
# the alignment of every subtask (alignments.csv) and the state and channel-state sizes.
height = 900
load plotsdir.'/common.gp'
set style fill solid 0.75 border -1
set boxwidth 0.6
stats datadir.'/checkpoints.csv' using 5 nooutput
top = (STATS_max > 0 ? STATS_max * 1.25 : 1)
stats datadir.'/checkpoints.csv' using 1 nooutput
set xrange [STATS_min - 0.6 : STATS_max + 0.6]
set xtics 1
if (STATS_max - STATS_min > 30) { set xtics autofreq }
set multiplot layout 3,1 title title.': checkpoints'
set xlabel 'checkpoint id'
set ylabel 'duration (ms)'
set yrange [0:top]
ok(s) = (s eq 'completed')
plot datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $5 : NaN) with boxes lc rgb '#eeeeee' title 'ack + finalize (to end to end)', \
     datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $15+$16+$17+$18 : NaN) with boxes lc rgb '#9467bd' title 'async', \
     datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $15+$16+$17 : NaN) with boxes lc rgb '#ff7f0e' title 'sync', \
     datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $15+$16 : NaN) with boxes lc rgb '#1f77b4' title 'alignment', \
     datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $15 : NaN) with boxes lc rgb '#c7c7c7' title 'start delay', \
     datadir.'/checkpoints.csv' using 1:(strcol(4) eq 'aborted' ? $5 : NaN) with boxes lc rgb '#d62728' title 'aborted', \
     datadir.'/checkpoints.csv' using 1:(strcol(4) eq 'aborted' ? top * 0.03 : NaN):('aborted: '.strcol(19)) with labels rotate by 90 left font ',8' tc rgb '#000000' notitle
set ylabel 'alignment (ms)'
set autoscale y
plot datadir.'/alignments.csv' using 1:5 with points pt 7 ps 0.5 lc rgb '#1f77b4' title 'per subtask', \
     datadir.'/checkpoints.csv' using 1:8 with points pt 5 ps 0.8 lc rgb '#ff7f0e' title 'max'
set ylabel 'size (bytes)'
set autoscale y
set yrange [0:*]
plot datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $13 + $14 : NaN) with boxes lc rgb '#bcbd22' title 'channel state (in-flight data)', \
     datadir.'/checkpoints.csv' using 1:(ok(strcol(4)) ? $13 : NaN) with boxes lc rgb '#8c564b' title 'operator state'
unset multiplot
