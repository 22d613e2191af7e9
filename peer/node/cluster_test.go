package node

import (
	"slices"
	"testing"

	"roster/peer/detector"
)

func members(m map[int]detector.Meta) map[int]detector.Member {
	out := map[int]detector.Member{}
	for id, meta := range m {
		out[id] = detector.Member{ID: id, Meta: meta}
	}
	return out
}

func TestOutsider(t *testing.T) {
	const x, y, z = "000000000000000a", "000000000000000b", "000000000000000c"
	cases := []struct {
		name    string
		local   string
		others  map[int]detector.Meta
		out     bool
		remote  string
		peers   []int
		foreign []int
	}{
		{"alone", x, nil, false, "", nil, nil},
		{"at home", x, map[int]detector.Meta{2: {Cluster: x, Joined: true}, 3: {Cluster: y, Joined: true}}, false, "", nil, []int{3}},
		{"outside a working cluster", x, map[int]detector.Meta{2: {Cluster: y, Joined: true}, 3: {Cluster: y}}, true, y, []int{2}, []int{2, 3}},
		{"beside a lone stale peer", x, map[int]detector.Meta{2: {Cluster: y}}, false, "", nil, []int{2}},
		{"peers without ids", x, map[int]detector.Meta{2: {Joined: true}}, false, "", nil, nil},
		{"no id of its own", "", map[int]detector.Meta{2: {Cluster: y, Joined: true}}, false, "", nil, nil},
		{"most common of two", x, map[int]detector.Meta{2: {Cluster: z, Joined: true}, 3: {Cluster: y, Joined: true}, 4: {Cluster: y, Joined: true}}, true, y, []int{3, 4}, []int{2, 3, 4}},
	}
	for _, c := range cases {
		others := map[int]detector.Meta{1: {Cluster: c.local, Joined: true}}
		for id, m := range c.others {
			others[id] = m
		}
		cv := sortByCluster(1, c.local, members(others))
		remote, peers, out := cv.outsider()
		var foreign []int
		for id := range cv.foreign {
			foreign = append(foreign, id)
		}
		slices.Sort(foreign)
		if out != c.out || remote != c.remote || !slices.Equal(peers, c.peers) || !slices.Equal(foreign, c.foreign) {
			t.Errorf("%s: outsider %v %q %v, foreign %v; want %v %q %v, %v", c.name, out, remote, peers, foreign, c.out, c.remote, c.peers, c.foreign)
		}
	}
}
