package benchsuite

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuTime is the CPU time the processes pids have used so far: the sum over
// their threads of /proc/PID/task/TID/schedstat's first field (nanoseconds
// on a CPU), which is exact where /proc/PID/stat counts 10 ms ticks. Go
// keeps its threads for the life of the process, so none is missed.
func cpuTime(pids ...int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
		if err != nil || len(tasks) == 0 {
			return 0, fmt.Errorf("cpu time of %d: no /proc tasks", pid)
		}
		for _, p := range tasks {
			b, err := os.ReadFile(p)
			if err != nil {
				continue // the thread just exited
			}
			f := strings.Fields(string(b))
			if len(f) < 1 {
				continue
			}
			ns, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cpu time of %d: %s: %w", pid, p, err)
			}
			total += time.Duration(ns)
		}
	}
	return total, nil
}

// cpuTimes is cpuTime of each pid.
func cpuTimes(pids []int) ([]time.Duration, error) {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		d, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}
