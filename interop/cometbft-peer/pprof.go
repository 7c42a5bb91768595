package main

// CPU profiling for finding where the harness spends its time (docs/benchmarks.md): with
// CMTPEER_CPUPROFILE=path the process writes a Go pprof CPU profile of its first
// CMTPEER_CPUPROFILE_SECONDS seconds (default 10) to path. Without the variable nothing runs.

import (
	"os"
	"runtime/pprof"
	"strconv"
	"time"
)

func init() {
	path := os.Getenv("CMTPEER_CPUPROFILE")
	if path == "" {
		return
	}
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("CMTPEER_CPUPROFILE_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	f, err := os.Create(path)
	if err != nil {
		fail("cpu profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail("cpu profile: %v", err)
	}
	go func() {
		time.Sleep(time.Duration(seconds) * time.Second)
		pprof.StopCPUProfile()
		f.Close()
	}()
}
