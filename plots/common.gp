# common.gp - settings shared by every ckptsim plot. Loaded first by each script.
# Variables set by 'ckptsim report' (gnuplot -e): plotsdir, datadir, out, fmt (svg|png),
# title, and height (pixels). The output is deterministic for the same input.
if (!exists("fmt")) fmt = 'svg'
if (!exists("height")) height = 480
if (fmt eq 'png') {
    set terminal pngcairo size 960,height font 'sans,10' noenhanced
} else {
    set terminal svg size 960,height font 'sans,10' noenhanced
}
set output out
set datafile separator ','
set grid
set key outside right top
# Event markers (markers.csv: time_s,kind,label) are drawn as impulses up to ymax:
# checkpoint completions grey, faults red, failovers orange.
mark(kind, want, top) = (kind eq want) ? top : NaN
