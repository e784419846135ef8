//go:build race

package grayscale

// raceEnabled reports whether the test binary was built with -race.
const raceEnabled = true
