#!/usr/bin/env bash
# idle-leader.sh: the Raft leader's CPU and network while N peers sit idle.
#
#   make build && sudo lab/measure/idle-leader.sh [-n PEERS] [-w SECONDS] [-b BINARY] [-g STAGGER]
#
# Runs N peers (default 25) of BINARY (default bin/roster) in two network
# namespaces made for the run and joined by a veth pair: peer 1, which
# starts the cluster and leads it while nothing happens, as a process alone
# in one; the N-1 others in the other, each on its own address, in one
# process (`roster lab peers`: 99 processes of their own overload a 2-core
# machine), started STAGGER apart (default 0s: at once). Once the leader's view holds all N peers and a settling time has
# passed, it samples for SECONDS (default 60) the leader's CPU time
# (/proc/PID/stat) and the bytes and packets on the leader namespace's veth
# (/proc/net/dev there: what the leader sent and received, headers
# included), and the followers' process's CPU time.
# Needs root (ip netns) and iproute2. Everything it made (processes by their
# ids, namespaces, the veth pair) is removed at exit, also on Ctrl-C.
set -euo pipefail

n=25 window=60 bin=bin/roster settle=10 stagger=0s
while getopts "n:w:b:s:g:" o; do
	case $o in
	n) n=$OPTARG ;;
	w) window=$OPTARG ;;
	b) bin=$OPTARG ;;
	s) settle=$OPTARG ;;
	g) stagger=$OPTARG ;;
	*) echo "usage: $0 [-n PEERS] [-w SECONDS] [-b BINARY] [-s SETTLE_SECONDS] [-g STAGGER]" >&2; exit 2 ;;
	esac
done
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 2 || n > 250)); then
	echo "idle-leader: -n $n: want 2 to 250 peers" >&2; exit 2
fi
[[ -x $bin ]] || { echo "idle-leader: $bin: no such binary (make build)" >&2; exit 2; }
bin=$(realpath "$bin")

tag=ri$$ # namespace and interface names stay short (15 bytes for a link)
nsL=$tag-L nsO=$tag-O
dir=$(mktemp -d -t roster-idle.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$nsL" 2>/dev/null || true
	ip netns del "$nsO" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs cleanup

# Two namespaces and a veth pair between them; 10.213.0.1 the leader,
# 10.213.1.x the others (these addresses exist only in the namespaces).
ip netns add "$nsL"
ip netns add "$nsO"
ip link add "$tag-l" type veth peer name "$tag-o"
ip link set "$tag-l" netns "$nsL"
ip link set "$tag-o" netns "$nsO"
ip -n "$nsL" addr add 10.213.0.1/16 dev "$tag-l"
ip -n "$nsL" link set lo up
ip -n "$nsL" link set "$tag-l" up
ip -n "$nsO" link set lo up
ip -n "$nsO" link set "$tag-o" up
{
	echo "p1 10.213.0.1"
	for ((i = 2; i <= n; i++)); do
		ip -n "$nsO" addr add "10.213.1.$((i - 1))/16" dev "$tag-o"
		echo "p$i 10.213.1.$((i - 1))"
	done
} >"$dir/hosts"

ip netns exec "$nsL" "$bin" -h "$dir/hosts" --name p1 --bind 10.213.0.1 --data-dir "$dir/p1" --log-level error 2>"$dir/p1.log" &
pids+=($!)
leader=$!
ip netns exec "$nsO" "$bin" lab peers -h "$dir/hosts" --except p1 --quiet --stagger "$stagger" 2>"$dir/others.log" &
pids+=($!)
others=$!

# Wait (at most 5 minutes) for the leader's view to hold all N peers.
t0=$(date +%s.%N)
for ((try = 0; ; try++)); do
	members=$(grep -o 'memb_list: \[[0-9,]*\]' "$dir/p1.log" | tail -1 | tr -cd ',' | wc -c || true)
	if grep -q 'memb_list' "$dir/p1.log" && ((members + 1 == n)); then break; fi
	if ((try > 3000)); then echo "idle-leader: no view of $n peers within 5 minutes; last: $(grep memb_list "$dir/p1.log" | tail -1)" >&2; exit 1; fi
	sleep 0.1
done
t1=$(date +%s.%N)
sleep "$settle"

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
dev() { ip netns exec "$nsL" awk -v i="$tag-l:" '$1 == i {print $2, $3, $10, $11}' /proc/net/dev; }

c0=$(cpu "$leader") o0=$(cpu "$others")
read -r rb0 rp0 tb0 tp0 < <(dev)
sleep "$window"
c1=$(cpu "$leader") o1=$(cpu "$others")
read -r rb1 rp1 tb1 tp1 < <(dev)

last=$(grep 'memb_list' "$dir/p1.log" | tail -1)
awk -v n="$n" -v w="$window" -v hz="$hz" -v up="$(echo "$t1 - $t0" | bc)" \
	-v c="$((c1 - c0))" -v o="$((o1 - o0))" \
	-v rb="$((rb1 - rb0))" -v rp="$((rp1 - rp0))" -v tb="$((tb1 - tb0))" -v tp="$((tp1 - tp0))" -v last="$last" 'BEGIN {
	printf "peers %d (the leader a process, %d followers in another), all in one view after %.1f s; idle window %d s\n", n, n - 1, up, w
	printf "leader (peer 1) CPU: %.1f%% of one core (%.2f s in %d s)\n", 100 * c / hz / w, c / hz, w
	printf "leader network: sent %.1f KB/s (%.0f packets/s), received %.1f KB/s (%.0f packets/s)\n", tb / w / 1000, tp / w, rb / w / 1000, rp / w
	printf "  per follower: sent %.0f B/s, received %.0f B/s\n", tb / w / (n - 1), rb / w / (n - 1)
	printf "followers process CPU: %.1f%% of one core (%.2f%% a follower)\n", 100 * o / hz / w, 100 * o / hz / w / (n - 1)
	printf "leader last view line: %s\n", last
}'
