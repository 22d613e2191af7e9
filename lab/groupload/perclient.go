package groupload

import (
	"slices"

	"github.com/anishathalye/porcupine"
)

// ClientModel returns the porcupine model of a group history seen one
// client at a time: the model of Model, partitioned by (group, client),
// each consistent read projected on each client (is it a member, with which
// incarnation). Every client's membership is its own object, so joins,
// leaves and expires split exactly; a read of the whole group does not (it
// reads every client at one instant), so this check is weaker than Model's:
// a history Model accepts, it accepts; a history it rejects, Model rejects
// too, and it decides much faster (a partition holds one client's few
// operations and the reads). A read made of two states of the group (one
// client's before a change, another's after) is caught by Model alone.
func ClientModel() porcupine.Model {
	m := Model()
	m.Partition = partitionByClient
	return m
}

// partitionByClient splits a history into one partition per (group,
// client): the client's joins, leaves and expires, and every read of its
// group projected on it. The clients of a group are those its writes name
// and those its reads return.
func partitionByClient(ops []porcupine.Operation) [][]porcupine.Operation {
	var out [][]porcupine.Operation
	for _, part := range partitionByGroup(ops) {
		by := map[string][]porcupine.Operation{}
		var reads []porcupine.Operation
		for _, op := range part {
			in := op.Input.(input)
			if in.kind != OpRead {
				by[in.client] = append(by[in.client], op)
				continue
			}
			reads = append(reads, op)
			for _, m := range op.Output.(output).members {
				if _, ok := by[m.Client]; !ok {
					by[m.Client] = nil
				}
			}
		}
		clients := make([]string, 0, len(by))
		for c := range by {
			clients = append(clients, c)
		}
		slices.Sort(clients)
		for _, c := range clients {
			p := by[c]
			for _, r := range reads {
				p = append(p, project(r, c))
			}
			out = append(out, p)
		}
	}
	return out
}

// project returns read r as seen by client c: c alone among the members,
// or no member.
func project(r porcupine.Operation, c string) porcupine.Operation {
	o := r.Output.(output)
	members := []Member{}
	for _, m := range o.members {
		if m.Client == c {
			members = append(members, m)
		}
	}
	o.members = members
	in := r.Input.(input)
	in.client = c
	r.Input, r.Output = in, o
	return r
}
