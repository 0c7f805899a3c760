# bench/sessions.gp: per-packet cost against the number of sessions, from mtuguard_bench's
# --plot-data file. bench/run calls it: gnuplot -e "data='FILE'; out='PNG'" bench/sessions.gp
set terminal pngcairo size 900,560 font ",10"
set output out
set title "mtuguard: per-packet cost against sessions per family (BPF\\_PROG\\_TEST\\_RUN)"
set xlabel "sessions per family"
set ylabel "ns per packet"
set logscale x
set logscale y
set xrange [0.5:2000000]
set format x "10^{%L}"
set grid
set key top left opaque box
set yrange [1:40000]
plot data using 1:2 with linespoints title "empty XDP program", \
     data using 1:3 with linespoints title "no session, IPv4", \
     data using 1:4 with linespoints title "session within MTU, IPv4", \
     data using 1:5 with linespoints title "session within MTU, IPv6", \
     data using 1:6 with linespoints title "IPv4, a different session every packet (cold, one syscall each)"
