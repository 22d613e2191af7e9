package groups

import (
	"fmt"
	"testing"
)

func TestOwnerSameEverywhere(t *testing.T) {
	// Member order does not matter: every peer computes the same owner.
	a := []int{1, 2, 3, 4, 5}
	b := []int{5, 3, 1, 4, 2}
	for i := range 1000 {
		c := fmt.Sprintf("c%d", i)
		if x, y := Owner("jobs", c, a), Owner("jobs", c, b); x != y {
			t.Fatalf("client %s: owner %d under %v, %d under %v", c, x, a, y, b)
		}
	}
	if Owner("jobs", "c", nil) != 0 {
		t.Fatal("owner of an empty view")
	}
}

func TestOwnerBalanced(t *testing.T) {
	members := []int{1, 2, 3, 4, 5}
	count := map[int]int{}
	const n = 10000
	for i := range n {
		count[Owner(fmt.Sprintf("g%d", i%7), fmt.Sprintf("c%d", i), members)]++
	}
	for _, p := range members {
		if count[p] < n/5*8/10 || count[p] > n/5*12/10 {
			t.Errorf("peer %d owns %d of %d clients: %v", p, count[p], n, count)
		}
	}
}

func TestOwnerMovesOnlyTheLeaversClients(t *testing.T) {
	before := []int{1, 2, 3, 4, 5}
	after := []int{1, 2, 4, 5} // 3 left
	moved := 0
	for i := range 5000 {
		c := fmt.Sprintf("c%d", i)
		x, y := Owner("jobs", c, before), Owner("jobs", c, after)
		if x != 3 && x != y {
			t.Fatalf("client %s moved from %d to %d though %d stayed", c, x, y, x)
		}
		if x == 3 {
			moved++
			if y == 3 {
				t.Fatalf("client %s still owned by the leaver", c)
			}
		}
	}
	if moved == 0 {
		t.Fatal("peer 3 owned nothing: the test proves nothing")
	}
	// A joining peer takes clients only for itself.
	joined := []int{1, 2, 3, 4, 5, 6}
	for i := range 5000 {
		c := fmt.Sprintf("c%d", i)
		x, y := Owner("jobs", c, before), Owner("jobs", c, joined)
		if x != y && y != 6 {
			t.Fatalf("client %s moved from %d to %d when 6 joined", c, x, y)
		}
	}
}
