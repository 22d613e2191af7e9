//go:build profile

package command

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

// With -tags profile, a roster process profiles itself: ROSTER_CPUPROFILE
// names the file of a CPU profile taken from ROSTER_PROFILE_AFTER seconds
// after the start (default 5) for ROSTER_PROFILE_SECONDS (default 60);
// ROSTER_HEAPPROFILE, if set, names the file of a heap profile written at
// the end of that window. Each file gets the process id appended. For
// measuring only: a normal build has none of this.
func init() {
	if t0, err := strconv.ParseInt(os.Getenv("ROSTER_T0"), 10, 64); err == nil {
		// ROSTER_T0: the exec time (Unix ns) the caller set; the time to
		// here is the runtime's start and the packages' init.
		os.Stderr.WriteString("profile: inits done after " + time.Since(time.Unix(0, t0)).String() + "\n")
	}
	cpu, heap := os.Getenv("ROSTER_CPUPROFILE"), os.Getenv("ROSTER_HEAPPROFILE")
	if cpu == "" && heap == "" {
		return
	}
	after := envSeconds("ROSTER_PROFILE_AFTER", 5)
	window := envSeconds("ROSTER_PROFILE_SECONDS", 60)
	suffix := "." + strconv.Itoa(os.Getpid())
	go func() {
		time.Sleep(after)
		if cpu != "" {
			f, err := os.Create(cpu + suffix)
			if err != nil {
				return
			}
			defer f.Close()
			if pprof.StartCPUProfile(f) != nil {
				return
			}
		}
		time.Sleep(window)
		if cpu != "" {
			pprof.StopCPUProfile()
		}
		if heap != "" {
			runtime.GC()
			if f, err := os.Create(heap + suffix); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}()
}

func envSeconds(name string, def float64) time.Duration {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v >= 0 {
		def = v
	}
	return time.Duration(def * float64(time.Second))
}
