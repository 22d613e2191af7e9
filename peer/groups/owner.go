package groups

import "hash/fnv"

// Owner returns the peer among members (peer ids of a committed view) that
// is responsible for checking client of group: the member with the highest
// rendezvous score for (group, client). Every peer holding the same view
// computes the same owner, with no more state; when a member leaves the
// view only the clients it owned move (to the next highest score), and a
// member that joins takes about 1/n of the clients. It returns 0 when
// members is empty. Safe for concurrent use.
func Owner(group, client string, members []int) int {
	return ownerOf(clientHash(group, client), members)
}

// clientHash hashes (group, client); the rendezvous score mixes it with each
// peer id.
func clientHash(group, client string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(group))
	h.Write([]byte{0})
	h.Write([]byte(client))
	return h.Sum64()
}

func ownerOf(ch uint64, members []int) int {
	best, bestScore := 0, uint64(0)
	for _, p := range members {
		s := mix(ch ^ mix(uint64(p)+0x9e3779b97f4a7c15))
		if best == 0 || s > bestScore || s == bestScore && p < best {
			best, bestScore = p, s
		}
	}
	return best
}

// mix is the splitmix64 finalizer: it spreads every input bit over the output.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
