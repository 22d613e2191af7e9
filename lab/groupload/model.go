package groupload

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The model is a per-group set of clients, each with its incarnation: join
// sets a client's incarnation (the join's answer; unknown, written 0, when
// the answer was lost), leave removes the client, expire removes the client
// only if it still has the expired incarnation (a late removal of an old
// life changes nothing), and a consistent read must return exactly the set,
// with each incarnation the model knows. Reads that return an incarnation the
// model did not know teach it. Histories are partitioned by group.
//
// A state is a *set: its members sorted by client id, never changed once
// made (a step makes a new one), with its hash. Porcupine compares and
// hashes states at every step of its search, and steps them millions of
// times on a busy history: a state is cheap to copy and compare.

// input is what an operation asks.
type input struct {
	kind, group, client string
	inc                 uint64 // expire: the life removed
}

// output is what it got: known is false for an unknown outcome.
type output struct {
	known   bool
	inc     uint64   // join
	members []Member // read
}

// set is one state of a group: members sorted by client, and their hash.
type set struct {
	ms   []Member
	hash uint64
}

// newSet returns the set of ms, which must be sorted by client and not
// shared.
func newSet(ms []Member) *set {
	h := fnv.New64a()
	var b [8]byte
	for _, m := range ms {
		h.Write([]byte(m.Client))
		binary.LittleEndian.PutUint64(b[:], m.Incarnation)
		h.Write(b[:])
	}
	return &set{ms: ms, hash: h.Sum64()}
}

// find returns the position of client in s, and whether it is there.
func (s *set) find(client string) (int, bool) {
	return slices.BinarySearchFunc(s.ms, client, func(m Member, c string) int { return strings.Compare(m.Client, c) })
}

// with returns s with client at incarnation inc.
func (s *set) with(client string, inc uint64) *set {
	i, ok := s.find(client)
	ms := make([]Member, 0, len(s.ms)+1)
	ms = append(ms, s.ms[:i]...)
	ms = append(ms, Member{Client: client, Incarnation: inc})
	if ok {
		i++
	}
	return newSet(append(ms, s.ms[i:]...))
}

// without returns s without client.
func (s *set) without(client string) *set {
	i, ok := s.find(client)
	if !ok {
		return s
	}
	ms := make([]Member, 0, len(s.ms)-1)
	return newSet(append(append(ms, s.ms[:i]...), s.ms[i+1:]...))
}

func (s *set) equal(t *set) bool {
	return s == t || s.hash == t.hash && slices.Equal(s.ms, t.ms)
}

func (s *set) String() string {
	parts := make([]string, len(s.ms))
	for i, m := range s.ms {
		parts[i] = fmt.Sprintf("%s=%d", m.Client, m.Incarnation)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Model returns the porcupine model of a group history.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition:         partitionByGroup,
		Init:              func() []any { return []any{newSet(nil)} },
		Step:              step,
		Equal:             func(a, b any) bool { return a.(*set).equal(b.(*set)) },
		Hash:              func(s any) uint64 { return s.(*set).hash },
		DescribeOperation: describeOp,
		DescribeState:     func(s any) string { return s.(*set).String() },
	}
	return nm.ToModel()
}

func step(state, in, out any) []any {
	s := state.(*set)
	i, o := in.(input), out.(output)
	switch i.kind {
	case OpJoin:
		inc := uint64(0)
		if o.known {
			inc = o.inc
		}
		return []any{s.with(i.client, inc)}
	case OpLeave:
		return []any{s.without(i.client)}
	case OpExpire:
		k, in := s.find(i.client)
		if !in {
			return []any{s}
		}
		switch cur := s.ms[k].Incarnation; {
		case cur != 0 && cur != i.inc:
			return []any{s}
		case cur == i.inc:
			return []any{s.without(i.client)}
		}
		// An unknown incarnation may be the expired one, or a newer life.
		return []any{s.without(i.client), s}
	case OpRead:
		if len(o.members) != len(s.ms) {
			return nil
		}
		learned := s
		for _, m := range o.members {
			k, in := s.find(m.Client)
			if !in {
				return nil
			}
			switch cur := s.ms[k].Incarnation; {
			case cur == m.Incarnation:
			case cur == 0:
				learned = learned.with(m.Client, m.Incarnation)
			default:
				return nil
			}
		}
		return []any{learned}
	}
	return nil
}

func partitionByGroup(ops []porcupine.Operation) [][]porcupine.Operation {
	by := map[string][]porcupine.Operation{}
	var names []string
	for _, op := range ops {
		g := op.Input.(input).group
		if _, ok := by[g]; !ok {
			names = append(names, g)
		}
		by[g] = append(by[g], op)
	}
	slices.Sort(names)
	out := make([][]porcupine.Operation, 0, len(names))
	for _, g := range names {
		out = append(out, by[g])
	}
	return out
}

func describeOp(in, out any) string {
	i, o := in.(input), out.(output)
	switch i.kind {
	case OpJoin:
		if !o.known {
			return fmt.Sprintf("join(%s) → ?", i.client)
		}
		return fmt.Sprintf("join(%s) → %d", i.client, o.inc)
	case OpLeave:
		if !o.known {
			return fmt.Sprintf("leave(%s) → ?", i.client)
		}
		return fmt.Sprintf("leave(%s)", i.client)
	case OpExpire:
		return fmt.Sprintf("expire(%s@%d)", i.client, i.inc)
	case OpRead:
		parts := make([]string, len(o.members))
		for k, m := range o.members {
			parts[k] = fmt.Sprintf("%s=%d", m.Client, m.Incarnation)
		}
		return "read → {" + strings.Join(parts, ",") + "}"
	}
	return i.kind
}
