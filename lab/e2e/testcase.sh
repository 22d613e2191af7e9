#!/bin/sh
# Run one compose test case under Docker, the way `make testcase-N` does:
#   1. `compose up --no-start` under a fresh project name (so parallel runs do not
#      collide), then `compose start` of the services in stages by their -d,
#   2. wait for the scenario's scripted length (x-roster: duration: in the file),
#   3. save `compose logs -t` to $OUT/testcase-N.log (container names without the
#      run prefix, as a plain `docker-compose up` would show them),
#   4. `compose down -v --remove-orphans` (also on failure and on Ctrl-C),
#   5. judge the log with `roster check`; its exit status is this script's.
#
# Usage: sh lab/e2e/testcase.sh N      (from the repository root; the image must exist)
# Environment: COMPOSE (default: `docker compose` if it works, else docker-compose),
#              ROSTER (the roster binary for the checker, default bin/roster), OUT (default out).
set -eu

n=${1:?usage: testcase.sh N}
file=docker-compose-testcase-$n.yml
out=${OUT:-out}
roster=${ROSTER:-bin/roster}
if [ -z "${COMPOSE:-}" ]; then
	if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
fi
[ -f "$file" ] || { echo "testcase: $file not found (run from the repository root)" >&2; exit 2; }

# The scripted length: `duration: 20s` under the top-level `x-roster:` key (h, m, s units).
duration=$(awk '/^x-roster:/ {x=1; next} x && /^[^[:space:]#]/ {x=0} x && $1 == "duration:" {gsub(/["'\'']/, "", $2); print $2; exit}' "$file")
secs=$(echo "$duration" | awk '{
	s = $0; t = 0
	if (s == "") exit 1
	while (s != "") {
		if (!match(s, /^[0-9]+[hms]/)) exit 1
		v = substr(s, 1, RLENGTH - 1); u = substr(s, RLENGTH, 1); s = substr(s, RLENGTH + 1)
		t += v * (u == "h" ? 3600 : u == "m" ? 60 : 1)
	}
	print t
}') || { echo "testcase: $file: x-roster duration \"$duration\" is not like 20s or 1m30s" >&2; exit 2; }

run=roster-tc$n-$$-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
export COMPOSE_PROJECT_NAME="$run" ROSTER_RUN="$run-"
mkdir -p "$out"
log=$out/testcase-$n.log

down() {
	$COMPOSE -p "$run" -f "$file" down -v --remove-orphans >/dev/null 2>&1 ||
		echo "testcase: could not tear down project $run; remove it with: $COMPOSE -p $run -f $file down -v --remove-orphans" >&2
}
trap down EXIT
trap 'exit 130' INT TERM

# The services in stages by their -d (increasing; the file's order within a
# stage), one stage a line: compose starts a project's containers all at
# once in no set order, and each peer counts its -d from its own container's
# start, so on a busy engine the joins could come out of the scripted order
# (the Go tests in lab/e2e start them the same way).
stages=$(awk '
/^services:/ {s=1; next}
s && /^[^[:space:]#]/ {s=0}
s && /^  [A-Za-z0-9_.-]+:[[:space:]]*$/ {name=$1; sub(/:$/, "", name); order[++n]=name; delay[name]=0; next}
s && name != "" && /^    command:/ {
	line=$0; gsub(/[][",]/, " ", line); k=split(line, w, /[[:space:]]+/)
	for (i=1; i<k; i++) if (w[i] == "-d" || w[i] == "--delay") delay[name]=w[i+1]
}
END {for (i=1; i<=n; i++) print delay[order[i]], order[i]}' "$file" | sort -s -n -k1,1 |
	awk '$1 != d {if (NR > 1) print line; line=""; d=$1} {line=line (line == "" ? "" : " ") $2} END {print line}')

start=$(date +%s)
echo "testcase-$n: $file for ${secs}s (compose project $run)"
$COMPOSE -p "$run" -f "$file" up --no-start
echo "$stages" | while read -r stage; do
	$COMPOSE -p "$run" -f "$file" start $stage
done
left=$((start + secs - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
$COMPOSE -p "$run" -f "$file" logs --no-color -t | sed "s/$ROSTER_RUN//g" >"$log"
down
trap - EXIT
echo "testcase-$n: logs in $log"
exec "$roster" check --hostsfile hostsfile.txt "$log"
