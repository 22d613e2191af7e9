package measure

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// busyLoops starts n goroutines that spin until the returned stop is
// called, with enough OS threads for each to run at once: they add about n
// to the machine's load, as n `stress --cpu` workers would. They run in the
// bench process, so the peers' own CPU figures do not count them.
func busyLoops(n int) (stop func()) {
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(prev + n)
	var done atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for x := uint64(1); !done.Load(); x = x*6364136223846793005 + 1 {
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
		runtime.GOMAXPROCS(prev)
	}
}
