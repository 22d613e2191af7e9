package groupload

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
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
// A state is the set printed canonically ("c1=5,c2=0"), so states compare
// with == and hash as strings.

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

// Model returns the porcupine model of a group history.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionByGroup,
		Init:      func() []any { return []any{""} },
		Step:      step,
		Equal:     func(a, b any) bool { return a.(string) == b.(string) },
		Hash: func(s any) uint64 {
			h := fnv.New64a()
			h.Write([]byte(s.(string)))
			return h.Sum64()
		},
		DescribeOperation: describeOp,
		DescribeState: func(s any) string {
			if s.(string) == "" {
				return "{}"
			}
			return "{" + s.(string) + "}"
		},
	}
	return nm.ToModel()
}

func step(state, in, out any) []any {
	s := parseState(state.(string))
	i, o := in.(input), out.(output)
	switch i.kind {
	case OpJoin:
		inc := uint64(0)
		if o.known {
			inc = o.inc
		}
		s[i.client] = inc
		return []any{formatState(s)}
	case OpLeave:
		delete(s, i.client)
		return []any{formatState(s)}
	case OpExpire:
		cur, in := s[i.client]
		switch {
		case !in || cur != 0 && cur != i.inc:
			return []any{state}
		case cur == i.inc:
			delete(s, i.client)
			return []any{formatState(s)}
		}
		// An unknown incarnation may be the expired one, or a newer life.
		delete(s, i.client)
		return []any{formatState(s), state}
	case OpRead:
		if len(o.members) != len(s) {
			return nil
		}
		for _, m := range o.members {
			cur, in := s[m.Client]
			if !in || cur != 0 && cur != m.Incarnation {
				return nil
			}
			s[m.Client] = m.Incarnation
		}
		return []any{formatState(s)}
	}
	return nil
}

func parseState(s string) map[string]uint64 {
	m := map[string]uint64{}
	if s == "" {
		return m
	}
	for _, kv := range strings.Split(s, ",") {
		i := strings.LastIndexByte(kv, '=')
		n, _ := strconv.ParseUint(kv[i+1:], 10, 64)
		m[unescape(kv[:i])] = n
	}
	return m
}

func formatState(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = escape(k) + "=" + strconv.FormatUint(m[k], 10)
	}
	return strings.Join(parts, ",")
}

// escape keeps ',' and '=' in client ids from breaking the state's format.
var (
	escaper   = strings.NewReplacer(`%`, `%25`, `,`, `%2C`, `=`, `%3D`)
	unescaper = strings.NewReplacer(`%2C`, `,`, `%3D`, `=`, `%25`, `%`)
)

func escape(s string) string   { return escaper.Replace(s) }
func unescape(s string) string { return unescaper.Replace(s) }

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
