// Package checker reads roster view logs and judges whether the membership
// properties held, measures how fast the group reacted, and draws the run as
// a space-time diagram. It reads only log lines, so it can judge any
// implementation that prints the same view log format.
//
// # Input
//
// Read takes any number of sources and accepts, line by line and mixed
// freely: plain view log records (the peer comes from peer_id, so several
// peers' lines may be interleaved in one stream); `docker-compose logs` (v1,
// "one    | line", "roster_one_1 | line") and `docker compose logs` (v2,
// "one-1  | line"), with or without -t timestamps; `docker service logs`
// ("stack_one.1.kaxl7mzl6dbf@node | line", with --timestamps in front; the
// task maps to its service's hostsfile name); and the lab runner's output
// ("name  | RFC3339Nano line"). Member lists may be [1,2], [<1,2>] or
// []. Every other line (diagnostics, garbage) is counted and ignored. The
// order of one peer's lines is the order of its events; lines of different
// peers are related only through view ids and, when present, timestamps.
//
// A runner that kills a peer from outside may say so in the log with a
// record such as {peer_id:3, view_id: 0, leader: 0, message:"killed"}: it
// counts as a crash at that point (view_id 0 means "the last view it printed").
//
// # Lives
//
// A peer that restarts is a new life of the same id. A life ends with a
// crash record ("crashing", "killed" or "leaving", a graceful leave), or,
// unrecorded, where the next life starts: at a "joining" line (a peer prints
// one when it starts), at a view line after a crash record, or at a restart
// Options.Restarts reports (a container's start time, read by
// `roster check --compose`). Other records after a crash record are late
// lines of the dying process and stay in the life that ended.
//
// # Properties
//
// A peer is down at the end when its last life ended with a crash record
// (crashed, killed or left), or when Options.Killed, Paused, Disconnected or
// Exited names it (what `roster check --compose` learns from the container
// engine; see ApplyContainers). Survivors are the started peers not down at the end; a peer's final
// view is its last view line.
//
//   - agreement: every view id has one member set and one leader across all lines.
//   - order: within each life of a peer its view ids strictly increase (a new
//     life may start from any view id: a peer restarted without its data
//     prints history again), and each peer is a member of every view it
//     prints.
//   - validity: every member and leader of a view is a started peer (and, with
//     a hostsfile, one of its peers).
//   - completeness: no peer down at the end is in a survivor's final view,
//     and every survivor is in every survivor's final view.
//   - accuracy: every removal (a peer in view id a but not in the next view id
//     b) follows the end of a life of that peer: the life ended in a view
//     older than b, no view between them admitted the peer again, and, with
//     timestamps, it ended (or was last seen) no later than b was first
//     printed. A removal after the last view printed by a peer that the
//     options say is down is explained too, and so is any removal of a
//     peer in Options.ExpectRemovals.
//   - convergence: all survivors end on the same view id.
//
// # Groups
//
// The same input may carry group log lines, printed by `roster client`
// processes (see peer/viewlog):
//
//	{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}
//	{client:"c1", group:"jobs", group_view: 7, message:"crashing"}
//
// They are judged apart from the views (Report.Groups), per group. A client
// is alive from its "joining" line, crashed after "crashing" or "killed" (or
// when GroupOptions.Killed names it), gone after "leaving"; a restarted
// client prints "joining" again, a new life. A live watcher is a client alive
// at the end that printed a view of the group.
//
//   - group agreement: every (group, group_view) has one member set across
//     all clients' lines.
//   - group validity: every member of a group view printed "joining" for
//     that group (not later than the line, with a second's slack for
//     timestamps), or GroupOptions.Joined names it.
//   - group accuracy: every removal (a client in one printed state and not in
//     the next by index) follows a crash or a leave of that client, which it
//     had not come back from (printed a view with itself) before; or names a
//     killed client, or one in GroupOptions.ExpectRemovals.
//   - group completeness: every live watcher's final view holds every live
//     client of the group and no crashed or departed one; with
//     GroupOptions.Deadline and timestamps, every crash of a client that did
//     not come back within the deadline is followed, within it, by a view
//     without the client at every live watcher that watched from the crash
//     to the deadline (one that crashed, left or restarted in between is
//     not asked).
//
// The group report also lists removals, crash-to-removal times (to the
// slowest watcher), and absences: spans during which a client that came
// back was out of its group.
//
// # Figures
//
// With timestamps: join latency (a peer's first line, diagnostics included,
// to the moment the last member of the view that added it printed a view
// containing it), crash to removal (the crash record to the moment the last
// member of the removing view printed a view without the peer) and leader
// failover (the crash of the leader of the current view to the first view
// committed by another leader); each with min, median and max.
//
// # Output
//
// Report.WriteText prints a table, Report.WriteJSON a JSON object, and
// WriteHTML a self-contained page with an inline SVG diagram. Report.Status
// is the exit status of `roster check`: 0 every property held, 1 one (of
// views or of groups) was violated, 2 the input had no view or group lines.
//
// Typical use:
//
//	run, err := checker.Read([]checker.Source{{Name: "run.log", R: f}}, opts)
//	rep := checker.Check(run, opts)
//	rep.WriteText(os.Stdout)
//	os.Exit(rep.Status())
package checker
