package node

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

func TestDemote(t *testing.T) {
	cases := []struct {
		level hclog.Level
		msg   string
		args  []any
		want  hclog.Level
	}{
		{hclog.Warn, "no known peers, aborting election", nil, hclog.Debug},
		{hclog.Warn, "heartbeat timeout reached, starting election", []any{"last-leader-id", "1"}, hclog.Info},
		{hclog.Error, "peer has newer term, stopping replication", nil, hclog.Info},
		{hclog.Error, "failed to heartbeat to", nil, hclog.Debug},
		{hclog.Error, "failed to decode incoming command", []any{"error", raft.ErrTransportShutdown}, hclog.Debug},
		{hclog.Error, "failed to decode incoming command", []any{"error", fmt.Errorf("read: %w", io.ErrUnexpectedEOF)}, hclog.Debug},
		// Garbage from the network stays an error.
		{hclog.Error, "failed to decode incoming command", []any{"error", errors.New("msgpack decode error")}, hclog.Error},
		{hclog.Error, "failed to append to logs", nil, hclog.Error},
		{hclog.Warn, "failed to contact quorum of nodes, stepping down", nil, hclog.Info},
		{hclog.Warn, "failed to contact", []any{"server-id", "2"}, hclog.Debug},
		{hclog.Warn, "something new", nil, hclog.Warn},
	}
	for _, c := range cases {
		if got := demote(c.level, c.msg, c.args); got != c.want {
			t.Errorf("%v %q %v: got %v, want %v", c.level, c.msg, c.args, got, c.want)
		}
	}
}
