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
# Client pools (the recommended configuration) solid, hashed sessions dashed.
plot data using 1:2 with linespoints lc rgb "black" title "empty XDP program", \
     data using 1:7 with linespoints lc 1 title "session within MTU, IPv4, client pool", \
     data using 1:8 with linespoints lc 2 title "session within MTU, IPv6, client pool", \
     data using 1:9 with linespoints lc 3 title "IPv4, a different session every packet (cold, one syscall each), client pool", \
     data using 1:3 with linespoints lc 4 dt 2 title "no session, IPv4, hashed", \
     data using 1:4 with linespoints lc 1 dt 2 title "session within MTU, IPv4, hashed", \
     data using 1:5 with linespoints lc 2 dt 2 title "session within MTU, IPv6, hashed", \
     data using 1:6 with linespoints lc 3 dt 2 title "IPv4, a different session every packet (cold), hashed"
