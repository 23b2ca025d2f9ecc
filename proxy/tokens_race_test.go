//go:build race

package proxy_test

// raceEnabled: the race detector slows counting some thirtyfold, so tests
// that count megabytes count less under it.
const raceEnabled = true
