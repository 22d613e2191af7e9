package runner

import (
	"encoding/json"
	"io"

	"roster/lab/checker"
)

// upJSON is the document `roster lab up --json` prints.
type upJSON struct {
	// Status is the exit status of the command.
	Status      int             `json:"status"`
	ElapsedMs   int64           `json:"elapsed_ms"`
	Interrupted bool            `json:"interrupted"`
	Failures    []string        `json:"failures"`
	Hostsfile   map[string]int  `json:"hostsfile"`
	Services    []serviceJSON   `json:"services"`
	Report      *checker.Report `json:"report"`
}

type serviceJSON struct {
	Service    string     `json:"service"`
	Peer       string     `json:"peer,omitempty"`
	ID         int        `json:"id,omitempty"`
	Addr       string     `json:"addr,omitempty"`
	RaftPort   int        `json:"raft_port,omitempty"`
	GossipPort int        `json:"gossip_port,omitempty"`
	APIPort    int        `json:"api_port,omitempty"`
	Starts     int        `json:"starts"`
	Exits      []exitJSON `json:"exits"`
	Down       bool       `json:"down_at_end"`
}

type exitJSON struct {
	AtMs      int64  `json:"at_ms"`
	Status    int    `json:"status"`
	Signal    string `json:"signal,omitempty"`
	Crashed   bool   `json:"crashed,omitempty"`
	Killed    bool   `json:"killed,omitempty"`
	Restarted bool   `json:"restarted,omitempty"`
}

func writeUpJSON(w io.Writer, res *Result, v *Verdict) error {
	doc := upJSON{
		Status: v.Status(), ElapsedMs: res.Elapsed.Milliseconds(), Interrupted: res.Interrupted,
		Failures: append([]string{}, res.Failures...), Hostsfile: res.Hostsfile, Report: v.Report,
	}
	if res.Status != 0 {
		doc.Status = res.Status
	}
	for _, s := range res.Services {
		sj := serviceJSON{Service: s.Service, Starts: s.Starts, Down: s.Down, Exits: []exitJSON{}}
		if !s.Tool {
			sj.Peer, sj.ID, sj.Addr = s.Peer, s.ID, s.IP
			sj.RaftPort, sj.GossipPort, sj.APIPort = s.RaftPort, s.GossipPort, s.APIPort
		}
		for _, e := range s.Exits {
			sj.Exits = append(sj.Exits, exitJSON{AtMs: e.At.Milliseconds(), Status: e.Status, Signal: e.Signal,
				Crashed: e.Crashed, Killed: e.Killed, Restarted: e.Restarted})
		}
		doc.Services = append(doc.Services, sj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
