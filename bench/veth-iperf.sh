#!/usr/bin/env bash
# Usage (root): bash bench/veth-iperf.sh   Prints iperf3 Gbit/s with offloads on and off, 3 runs each.
# Needs iperf3, ethtool and iproute2 (apt-get install iperf3 ethtool iproute2).
# Kernel-to-kernel TCP over a veth pair between two namespaces this script creates and removes.
set -euo pipefail
A=skb-a-$$; B=skb-b-$$
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $A; ip netns add $B
VA=ska$$; VB=skb$$
ip link add $VA netns $A type veth peer name $VB netns $B
ip -n $A addr add 10.77.0.1/24 dev $VA; ip -n $B addr add 10.77.0.2/24 dev $VB
ip -n $A link set $VA up; ip -n $B link set $VB up; ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $B iperf3 -s -D -1 >/dev/null 2>&1 || true
sleep 0.5
for mode in on off; do
  ip netns exec $A ethtool -K $VA tso $mode gso $mode gro $mode tx $mode rx $mode >/dev/null 2>&1 || true
  ip netns exec $B ethtool -K $VB tso $mode gso $mode gro $mode tx $mode rx $mode >/dev/null 2>&1 || true
  for run in 1 2 3; do
    ip netns exec $B iperf3 -s -D -1 >/dev/null 2>&1 || true; sleep 0.3
    bps=$(ip netns exec $A iperf3 -c 10.77.0.2 -t 3 -J 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
    echo "kernel veth iperf3 offloads $mode run $run: $(python3 -c "print(f'{$bps/1e9:.2f}')") Gbit/s"
  done
done
