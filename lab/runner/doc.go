// Package lab runs a roster scenario on one machine without Docker: it reads a
// compose file, gives every service its own loopback address and ports,
// writes a hostsfile with those addresses, starts one roster process per
// service, prefixes their output like docker compose, restarts them by their
// restart policy, and stops them all at the end of the scenario.
//
// The pieces are separate so that other tools (a randomized soak, tests) can
// drive a run without a compose file: Load turns a compose file into a
// Scenario, Run executes any Scenario and returns the collected, timestamped
// log, and Judge feeds that log to the checker.
package runner
