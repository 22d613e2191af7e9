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

// memory is a process's resident memory, in kB (/proc/PID/status).
type memory struct {
	// RSS is VmRSS: Anon (the heap, stacks and the runtime's own memory)
	// plus File (the pages of the executable and other files it mapped,
	// shared with every process that maps them) plus shared memory.
	RSS, Anon, File int64
}

// memoryOf reads the resident memory of process pid.
func memoryOf(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	fields := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		for name, dst := range fields {
			rest, ok := strings.CutPrefix(line, name)
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return memory{}, fmt.Errorf("/proc/%d/status: bad %s line %q", pid, name, line)
			}
			if *dst, err = strconv.ParseInt(f[0], 10, 64); err != nil {
				return memory{}, fmt.Errorf("/proc/%d/status: bad %s line %q", pid, name, line)
			}
			found = found || name == "VmRSS:"
		}
	}
	if !found {
		return memory{}, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}

// Usage is what one process used over a window.
type Usage struct {
	// CPUPercent is the CPU time used over the window, in percent of one core.
	CPUPercent float64 `json:"cpu_percent"`
	// RSSMB is the resident set size at the end of the window, in MB (10⁶ bytes).
	RSSMB float64 `json:"rss_mb"`
	// AnonMB and FileMB split it: the process's own memory (heap, stacks,
	// runtime), and the mapped pages of its executable, which processes
	// running the same binary share.
	AnonMB float64 `json:"rss_anon_mb"`
	FileMB float64 `json:"rss_file_mb"`
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
		mem, err := memoryOf(pid)
		if err != nil {
			return nil, err
		}
		out[id] = Usage{
			CPUPercent: float64(t-before[id]) / userHZ / elapsed * 100,
			RSSMB:      kbToMB(mem.RSS),
			AnonMB:     kbToMB(mem.Anon),
			FileMB:     kbToMB(mem.File),
		}
	}
	return out, nil
}

// kbToMB converts kB (1024 bytes) to MB (10⁶ bytes).
func kbToMB(kb int64) float64 { return float64(kb) * 1024 / 1e6 }
