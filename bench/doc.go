// Package bench holds ninja's end-to-end performance benchmarks
// (design.md §7). They run ninja as a real subprocess, the way it is
// deployed, and, when KUBO_BIN names a Kubo binary, Kubo's daemon in the
// same run with the same import profile, so the numbers are comparable.
//
//	make bench                        # ninja only
//	KUBO_BIN=/path/to/ipfs make bench # ninja and Kubo side by side
//
// Everything listens on 127.0.0.1 and lives in temporary directories;
// every process started is killed when its benchmark ends. The package
// has no tests, so `go test ./bench/` only compiles it.
package bench
