// Package netguard bounds what the network can make a peer hold: a cap on
// concurrent inbound connections per remote address and in total
// (ConnLimiter, Listener), and logging of bad input at a bounded rate
// (RateLog: the first occurrence of each kind, then a count per minute).
// It knows no wire format; the packages that own one (detector for
// memberlist, node for Raft, api for HTTP) use it.
package netguard
