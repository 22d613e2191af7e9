package runner

import (
	"slices"
	"strconv"
	"strings"
)

// flagValue finds the value of the first of names in args (as "-x V",
// "--x V" or "-x=V"). It returns the index of the argument that holds the
// value, the value, and whether the value shares that argument with the
// flag ("-x=V"). Scanning stops at "--".
func flagValue(args []string, names ...string) (idx int, value string, combined bool, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, n := range names {
			for _, f := range []string{"-" + n, "--" + n} {
				if a == f && i+1 < len(args) {
					return i + 1, args[i+1], false, true
				}
				if v, found := strings.CutPrefix(a, f+"="); found {
					return i, v, true, true
				}
			}
		}
	}
	return 0, "", false, false
}

// hasFlag reports whether args set any of the boolean or valued flags in
// names to something other than false/0.
func hasFlag(args []string, names ...string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return false
		}
		for _, n := range names {
			for _, f := range []string{"-" + n, "--" + n} {
				if a == f {
					return true
				}
				if v, found := strings.CutPrefix(a, f+"="); found {
					return v != "false" && v != "0"
				}
			}
		}
	}
	return false
}

// hostsfileFlag finds the -h/--hostsfile value in args.
func hostsfileFlag(args []string) (idx int, value string, combined bool, ok bool) {
	return flagValue(args, "h", "hostsfile")
}

// mayCrash reports whether a peer started with args (and extra environment
// env) is asked to crash by itself: -c/--crash-after or -t/--leader-crash.
func mayCrash(args, env []string) bool {
	if hasFlag(args, "c", "crash-after", "t", "leader-crash") {
		return true
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if (k == "ROSTER_CRASH_AFTER" || k == "ROSTER_LEADER_CRASH") && v != "" && v != "0" && v != "false" {
			return true
		}
	}
	return false
}

// withHostsfile returns a copy of args whose -h/--hostsfile value is path;
// when args name no hostsfile, -h path is put in front.
func withHostsfile(args []string, path string) []string {
	out := slices.Clone(args)
	idx, _, combined, ok := hostsfileFlag(out)
	switch {
	case !ok:
		return append([]string{"-h", path}, out...)
	case combined:
		flag, _, _ := strings.Cut(out[idx], "=")
		out[idx] = flag + "=" + path
	default:
		out[idx] = path
	}
	return out
}

// peerArgs returns the full argument list of a peer process (without the
// program name): the service's flags with the hostsfile replaced, then the
// flags that place this peer.
func peerArgs(svc Service, hostsPath string, ep Endpoint, dataDir string) []string {
	args := withHostsfile(svc.Args, hostsPath)
	return append(args,
		"--name", ep.Peer,
		"--bind", ep.IP,
		"--raft-port", strconv.Itoa(ep.RaftPort),
		"--gossip-port", strconv.Itoa(ep.GossipPort),
		"--api-port", strconv.Itoa(ep.APIPort),
		"--data-dir", dataDir,
	)
}
