# Sourced by the bench scripts whose figure is "frames that made it through": an XDP_DROP sink
# (bench/native/xdp_drop_sink.c) on the far veth counts what arrives.
# xdp_sink_median NETNS IFACE SECONDS SINK_BINARY LOG: attaches the sink for SECONDS, logs the veth's XDP drops per
# second ("sink second N: P pps") to LOG and prints their median (0 when it saw nothing).
xdp_sink_median() {
  local ns=$1 iface=$2 seconds=$3 sink_bin=$4 log=$5 prev now i
  ip netns exec "$ns" taskset -c 0 "$sink_bin" "$iface" $((seconds + 1)) >>"$log" 2>&1 &
  local sink=$!; sleep 1
  prev=$(ip netns exec "$ns" ethtool -S "$iface" | awk '/rx_queue_0_xdp_drops/{print $2}') || prev=0
  for i in $(seq 1 $((seconds - 1))); do
    sleep 1; now=$(ip netns exec "$ns" ethtool -S "$iface" | awk '/rx_queue_0_xdp_drops/{print $2}') || now=$prev
    echo "sink second $i: $((now - prev)) pps" >>"$log"; prev=$now
  done
  wait $sink 2>/dev/null || true
  grep -o 'sink second [0-9]*: [0-9]*' "$log" | awk '{print $4}' | sort -n \
    | awk '{a[NR]=$1} END{if(NR){print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)} else print 0}'
}
