//go:build !linux

package perf

import "time"

// sleepNs blocks for about ns nanoseconds.
func sleepNs(ns int64) { time.Sleep(time.Duration(ns)) }
