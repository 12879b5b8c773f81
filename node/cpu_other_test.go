//go:build !linux

package node

// processCPU is unavailable here; the benchmarks then report 0 cpu-ns/op.
func processCPU() int64 { return 0 }
