package raftpeer

import (
	"io"

	"github.com/hashicorp/raft"
)

// Transport is Raft's network transport with every dialed address tagged
// with its target's id (see the package comment). Where, if set, returns
// the Raft address failure detection sees a server at now; Raft's own
// (configured) address is used when it knows none. Safe for concurrent use
// if Where is.
type Transport struct {
	*raft.NetworkTransport
	Where func(id raft.ServerID) (raft.ServerAddress, bool)
}

var (
	_ raft.Transport   = (*Transport)(nil)
	_ raft.WithPreVote = (*Transport)(nil)
	_ raft.WithClose   = (*Transport)(nil)
)

// target is the tagged address a request for server id is sent to.
func (t *Transport) target(id raft.ServerID, addr raft.ServerAddress) raft.ServerAddress {
	if t.Where != nil {
		if now, ok := t.Where(id); ok && now != "" {
			addr = now
		}
	}
	return raft.ServerAddress(Tag(string(id), string(addr)))
}

// AppendEntriesPipeline implements raft.Transport.
func (t *Transport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	return t.NetworkTransport.AppendEntriesPipeline(id, t.target(id, target))
}

// AppendEntries implements raft.Transport.
func (t *Transport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	return t.NetworkTransport.AppendEntries(id, t.target(id, target), args, resp)
}

// RequestVote implements raft.Transport.
func (t *Transport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	return t.NetworkTransport.RequestVote(id, t.target(id, target), args, resp)
}

// RequestPreVote implements raft.WithPreVote.
func (t *Transport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return t.NetworkTransport.RequestPreVote(id, t.target(id, target), args, resp)
}

// InstallSnapshot implements raft.Transport.
func (t *Transport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	return t.NetworkTransport.InstallSnapshot(id, t.target(id, target), args, resp, data)
}

// TimeoutNow implements raft.Transport.
func (t *Transport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	return t.NetworkTransport.TimeoutNow(id, t.target(id, target), args, resp)
}
