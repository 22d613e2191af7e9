package measure

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go runs on).
const userHZ = 100

// cpuTicks returns the user and system CPU time of process pid so far, in
// USER_HZ ticks (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return u + s, nil
}

// rssKB returns the resident set size of process pid (VmRSS of
// /proc/PID/status), in kB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// Usage is what one process used over a window.
type Usage struct {
	// CPUPercent is the CPU time used over the window, in percent of one core.
	CPUPercent float64 `json:"cpu_percent"`
	// RSSMB is the resident set size at the end of the window, in MB (10⁶ bytes).
	RSSMB float64 `json:"rss_mb"`
}

// sampleUsage measures the processes pids (id -> pid) over window: the CPU
// time each used in it, and its RSS at the end.
func sampleUsage(pids map[int]int, window time.Duration) (map[int]Usage, error) {
	before := map[int]int64{}
	for id, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		before[id] = t
	}
	start := time.Now()
	time.Sleep(window)
	elapsed := time.Since(start).Seconds()
	out := map[int]Usage{}
	for id, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		rss, err := rssKB(pid)
		if err != nil {
			return nil, err
		}
		out[id] = Usage{
			CPUPercent: float64(t-before[id]) / userHZ / elapsed * 100,
			RSSMB:      float64(rss) * 1024 / 1e6,
		}
	}
	return out, nil
}
