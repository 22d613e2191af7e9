#!/usr/bin/env bash
# netns-join.sh: join latency of peers in network namespaces, as a user
# measures it: each peer a process in a namespace of its own, timed from
# its process start to the first view holding it at every peer.
#
#   make peer && sudo lab/measure/netns-join.sh [-n PEERS] [-r RUNS] [-g GAP] [-b BINARY]
#
# Each run makes PEERS namespaces (default 5), each with one end of a veth
# pair whose other end is on a bridge made for the run, and starts peer i
# (10.214.0.i, the hostsfile lists all of them) GAP seconds after peer i-1
# (default 1), with `ip netns exec` (its own cost is part of the figure, as
# it is for any user of namespaces). Every line a peer prints is stamped
# when this script reads it ($EPOCHREALTIME, no fork per line). A join is
# from the moment just before the peer's `ip netns exec` to the latest of
# the first view lines holding it at each running peer, itself included.
# RUNS runs (default 5); it prints each join, then p50 / p90 / max over all.
# Needs root (ip netns, ip link) and iproute2. Everything it made
# (processes, namespaces, the bridge, an iptables FORWARD rule letting the
# bridge's traffic through) is removed at exit, also on Ctrl-C.
set -euo pipefail

n=5 runs=5 gap=1 bin=bin/roster-peer
while getopts "n:r:g:b:" o; do
	case $o in
	n) n=$OPTARG ;;
	r) runs=$OPTARG ;;
	g) gap=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) echo "usage: $0 [-n PEERS] [-r RUNS] [-g GAP_SECONDS] [-b BINARY]" >&2; exit 2 ;;
	esac
done
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 2 || n > 50)); then
	echo "netns-join: -n $n: want 2 to 50 peers" >&2; exit 2
fi
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1)); then
	echo "netns-join: -r $runs: want a positive number of runs" >&2; exit 2
fi
[[ -x $bin ]] || { echo "netns-join: $bin: no such binary (make peer)" >&2; exit 2; }
bin=$(realpath "$bin")

tag=rj$$ # namespace and link names stay short (15 bytes for a link)
dir=$(mktemp -d -t roster-netns.XXXXXX)
pids=()
stop_peers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	stop_peers
	for ((i = 1; i <= n; i++)); do ip netns del "$tag-$i" 2>/dev/null || true; done
	ip link del "$tag-br" 2>/dev/null || true
	iptables -D FORWARD -i "$tag-br" -o "$tag-br" -j ACCEPT 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs cleanup

ip link add "$tag-br" type bridge
ip link set "$tag-br" up
# Where Docker runs, FORWARD drops by default and bridged packets pass
# through it (br_netfilter): let the bridge's own traffic through.
if command -v iptables >/dev/null; then
	iptables -I FORWARD -i "$tag-br" -o "$tag-br" -j ACCEPT
fi
for ((i = 1; i <= n; i++)); do
	ns=$tag-$i
	ip netns add "$ns"
	ip link add "$tag-h$i" type veth peer name "$tag-n$i"
	ip link set "$tag-h$i" master "$tag-br" up
	ip link set "$tag-n$i" netns "$ns"
	ip -n "$ns" addr add "10.214.0.$i/24" dev "$tag-n$i"
	ip -n "$ns" link set "$tag-n$i" up
	ip -n "$ns" link set lo up
	echo "p$i 10.214.0.$i"
done >"$dir/hosts"

# stamp copies its input to a file, each line prefixed with the time it was read.
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$1"; }

for ((run = 1; run <= runs; run++)); do
	rm -rf "$dir/run"
	mkdir -p "$dir/run"
	for ((i = 1; i <= n; i++)); do
		echo "$EPOCHREALTIME" >"$dir/run/start$i"
		# The peer's own pid ($! of the pipeline would be the stamper's);
		# its state in a temporary directory under $dir, as in the bench.
		TMPDIR=$dir/run ip netns exec "$tag-$i" "$bin" -h "$dir/hosts" --name "p$i" \
			--bind "10.214.0.$i" --log-time=false --log-level warn 2> >(stamp "$dir/run/out$i") &
		pids+=($!)
		sleep "$gap"
	done
	# Wait (at most 30 s) until every peer printed a view of all n.
	for ((try = 0; ; try++)); do
		full=0
		for ((i = 1; i <= n; i++)); do
			if grep -q "memb_list: \[$(seq -s, 1 "$n")\]" "$dir/run/out$i" 2>/dev/null; then full=$((full + 1)); fi
		done
		((full == n)) && break
		if ((try > 300)); then echo "netns-join: run $run: not every peer printed a view of all $n within 30 s" >&2; tail -n 3 "$dir"/run/out* >&2; exit 1; fi
		sleep 0.1
	done
	awk -v n="$n" -v run="$run" '
	FNR == 1 { f++ }
	f <= n { start[f] = $1; next }             # start1..startN
	{
		p = f - n                                # outN: the lines of peer p
		if (match($0, /memb_list: \[[0-9,]*\]/)) {
			s = substr($0, RSTART + 11, RLENGTH - 12)
			k = split(s, m, ",")
			for (j = 1; j <= k; j++) {
				id = m[j] + 0
				if (!((p, id) in seen)) { seen[p, id] = $1 }
			}
		}
	}
	END {
		for (id = 2; id <= n; id++) {
			last = 0
			for (p = 1; p <= id; p++) { # the peers running when id started, and id
				if (!((p, id) in seen)) { printf "run %d: peer %d never printed a view holding %d\n", run, p, id > "/dev/stderr"; exit 1 }
				if (seen[p, id] > last) { last = seen[p, id] }
			}
			printf "join %d %d %.1f\n", run, id, (last - start[id]) * 1000
		}
	}' $(for ((i = 1; i <= n; i++)); do echo "$dir/run/start$i"; done) \
		$(for ((i = 1; i <= n; i++)); do echo "$dir/run/out$i"; done) | tee -a "$dir/joins"
	stop_peers
done

sort -t' ' -k4 -n "$dir/joins" | awk '{ v[NR] = $4 } END {
	p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.999)]
	printf "joins %d (peers 2..N of each run, from just before `ip netns exec` to the view at every peer): p50 %.1f ms, p90 %.1f ms, max %.1f ms\n", NR, p50, p90, v[NR]
}'
