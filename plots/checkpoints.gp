# checkpoints.gp - per checkpoint id: duration (trigger -> complete or abort) coloured
# by outcome, alignment durations of every subtask (alignments.csv) with the maximum,
# and the checkpoint's size (sum of its state handles, checkpoints.csv).
height = 800
load plotsdir.'/common.gp'
set multiplot layout 3,1 title title.': checkpoints'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xlabel 'checkpoint id'
set offsets 0.5, 0.5, 0, 0
set ylabel 'duration (ms)'
set yrange [0:*]
plot datadir.'/checkpoints.csv' using 1:(strcol(4) eq 'completed' ? $5 : NaN) with boxes \
         lc rgb '#2ca02c' title 'completed', \
     datadir.'/checkpoints.csv' using 1:(strcol(4) eq 'aborted' ? $5 : NaN) with boxes \
         lc rgb '#d62728' title 'aborted'
set ylabel 'alignment (ms)'
plot datadir.'/alignments.csv' using 1:5 with points pt 7 ps 0.5 lc rgb '#1f77b4' \
         title 'per subtask', \
     datadir.'/checkpoints.csv' using 1:8 with linespoints lc rgb '#ff7f0e' title 'max'
set ylabel 'size (bytes)'
plot datadir.'/checkpoints.csv' using 1:(strcol(4) eq 'completed' ? $6 : NaN) with boxes \
         lc rgb '#9467bd' title 'state size'
unset multiplot
