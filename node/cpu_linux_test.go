package node

import "syscall"

// processCPU returns the user plus system CPU time this process has used,
// in nanoseconds: the benchmarks report it per operation because the dev
// machine's two cores are shared, so wall-clock times are noisy.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
