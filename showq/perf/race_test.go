//go:build race

package perf

// raceEnabled: the race detector slows everything down several times,
// which makes timing figures meaningless.
const raceEnabled = true
