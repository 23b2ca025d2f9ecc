//go:build !race

package proxy_test

// raceEnabled: see tokens_race_test.go.
const raceEnabled = false
