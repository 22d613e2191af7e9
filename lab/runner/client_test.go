package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
)

func TestClientArgs(t *testing.T) {
	eps := []Endpoint{
		{Service: "one", Peer: "one", IP: "127.9.9.11", APIPort: 8082},
		{},
		{Service: "svc2", Peer: "two", IP: "127.9.9.12", APIPort: 9000},
	}
	cases := []struct{ in, want []string }{
		{[]string{"client", "--group", "jobs", "--id", "c1", "--peers", "one:8082,two:8082,elsewhere:1", "--listen", ":7070"},
			[]string{"client", "--group", "jobs", "--id", "c1", "--peers", "127.9.9.11:8082,127.9.9.12:9000,elsewhere:1", "--listen", "127.0.0.1:5555"}},
		{[]string{"client", "--peers=svc2:8082, one", "-c", "4"},
			[]string{"client", "--peers=127.9.9.12:9000,127.9.9.11:8082", "-c", "4", "--listen", "127.0.0.1:5555"}},
		{[]string{"client", "--listen=0.0.0.0:7070"},
			[]string{"client", "--listen=127.0.0.1:5555"}},
	}
	for _, c := range cases {
		if got := clientArgs(c.in, eps, "127.0.0.1:5555"); !slices.Equal(got, c.want) {
			t.Errorf("clientArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	svc := Service{Args: []string{"client", "--group=jobs", "--id", "c7"}}
	if !svc.Client() || !svc.Tool() || svc.ClientID() != "c7" || svc.ClientGroup() != "jobs" {
		t.Errorf("service %q: client %v, tool %v, id %q, group %q", svc.Args, svc.Client(), svc.Tool(), svc.ClientID(), svc.ClientGroup())
	}
	if (Service{Args: []string{"nemesis"}}).Client() || (Service{Args: []string{"-h", "x"}}).Client() {
		t.Error("a nemesis or a peer counted as a client")
	}
}

const peersAndClients = `
x-roster:
  duration: 2s
  client_deadline: 7s
  expect_client_removals: [c9]
services:
  one:
    image: roster
    command: ["-h", "hosts.txt"]
  two:
    image: roster
    command: ["-h", "hosts.txt"]
  c1:
    image: roster
    command: ["client", "--group", "jobs", "--id", "c1", "--peers", "one:8082,two:8082", "--listen", ":7070"]
  c2:
    image: roster
    command: ["client", "--group", "jobs", "--id", "c2", "--peers", "two:8082", "-c", "0.3"]
  c3:
    image: roster
    command: ["client", "--group", "jobs", "--id", "c3", "--peers", "two:8082"]
`

// Clients are started as clients: their --peers name the peers' API
// addresses, they listen where the runner says, their crashes on cue are
// expected, and a client killed from outside is reported for the checker.
func TestRunStartsClients(t *testing.T) {
	t.Parallel()
	opts := Options{OnStart: func(c *Control) {
		time.Sleep(500 * time.Millisecond)
		if err := c.Kill("c3"); err != nil {
			panic(err)
		}
	}}
	res, out, diag := runFake(t, peersAndClients, map[string]string{"hosts.txt": "one\ntwo\n"}, opts)
	if res.Status != 0 || len(res.Failures) != 0 {
		t.Fatalf("status %d, failures %q\n%s", res.Status, res.Failures, diag)
	}
	api := map[string]string{}
	for _, s := range res.Services {
		if !s.Tool {
			api[s.Peer] = s.APIAddr()
		}
	}
	// c1 answers checks on an address of its own in the peers' block, at the
	// port its --listen names, as under Docker.
	host, _, _ := strings.Cut(api["one"], ":")
	want := fmt.Sprintf("fake client c1 peers %s,%s listen %s.101:7070", api["one"], api["two"], strings.TrimSuffix(host, ".11"))
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	byName := map[string]ServiceResult{}
	for _, s := range res.Services {
		byName[s.Service+s.Peer] = s
	}
	if c := byName["c2"]; !c.Client || c.ClientID != "c2" || len(c.Exits) != 1 || !c.Exits[0].Crashed {
		t.Errorf("c2: %+v, want a client whose one exit was an expected crash", c)
	}
	if got := res.KilledClients(); !slices.Equal(got, []string{"c3"}) {
		t.Errorf("KilledClients() = %q, want [c3]", got)
	}
	if got := res.Killed(); len(got) != 0 {
		t.Errorf("Killed() = %v, want no peers", got)
	}
	sc, err := Load(context.Background(), writeFiles(t, map[string]string{"compose.yml": peersAndClients})+"/compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.ClientDeadline != 7*time.Second || !slices.Equal(sc.ExpectClientRemovals, []string{"c9"}) {
		t.Errorf("client_deadline %v, expect_client_removals %q; want 7s, [c9]", sc.ClientDeadline, sc.ExpectClientRemovals)
	}
	v, err := Judge(res, checker.Options{Clients: sc.ClientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	g := v.Report.Groups
	if g == nil || !slices.Equal(g.Clients, []string{"c1", "c2", "c3"}) {
		t.Fatalf("the checker saw no clients c1, c2, c3: %+v", g)
	}
	for _, f := range g.Final {
		if want := map[string]string{"c1": "alive", "c2": "crashed", "c3": "crashed"}[f.Client]; f.State != want {
			t.Errorf("client %s judged %s, want %s", f.Client, f.State, want)
		}
	}
}
