// Package nemesis drives faults into running roster peers at scripted times:
// it is `roster nemesis`, a tool service that runs next to the peers of a
// scenario (same image under Docker, a tool process under `roster lab up`),
// and the engine `roster lab soak` uses for its random schedules.
//
// A schedule is a list of steps, each an action at a time counted from the
// start of the nemesis (which a scenario starts together with its peers, so
// the times line up with the peers' own --partition-at and -c clocks):
//
//	--at 15s partition 1,2/3,4,5   cut {1,2} from {3,4,5}, on every peer ('|' works too)
//	--at 35s heal                  remove the partition on every peer
//	--at 20s pause one 10s         peer one drops all its traffic for 10 s
//	--at 22s resume one            end a pause early
//	--at 10s loss 10%              every peer drops 10 % of what it sends on every link
//	--at 10s loss 0.2 two,three    only two and three do (0 removes the loss)
//	--at 10s delay 50ms±20ms       every message delayed 50 ms give or take 20 ms ("50ms+-20ms")
//	--at 70s clear                 remove every fault of every peer (or of a list of peers)
//	--at 25s kill three            SIGKILL a peer (only under the lab's control: roster lab soak)
//	--at 33s start three           start a killed peer again (ditto)
//	--at 20s cut-client jobs c3    the owner of client c3 of group jobs can no longer reach it
//	                               (its checks fail; other peers still reach it)
//	--at 40s heal-client jobs c3   remove that cut from every peer
//
// A peer is named by its hostsfile name, its id, or "leader": the peer that
// is Raft leader when the step runs. Times are Go durations ("15s", "1m30s")
// or seconds ("15", "2.5"). Steps run in time order (steps at the same time
// in the order given).
//
// The peers must run with --faults; the nemesis talks to their fault API
// (package fault) on their API port. It finds them, in this order: --peers
// "one=host:port,..." ("host:port" alone names the peer after its host);
// the ROSTER_LAB_PEERS variable the lab runner gives its tool services, in
// the same form; or the hostsfile (-h), each peer at its name (or the address
// its line carries) and --api-port (8082). Peer ids come from the hostsfile,
// else from each peer's GET /health.
//
// A step that reaches some of its peers but not all (a peer crashed, or not
// started yet) is reported and the schedule goes on; a step that reaches none
// counts as failed, and `roster nemesis` then exits with status 1.
package nemesis
