// Package testkit holds the helpers every test of the project shares, so that each behaviour has
// one home: Eventually waits for a condition with a deadline (never a sleep as synchronisation),
// Metric reads a series from a Prometheus registry. Golden files have their own package,
// internal/lab/golden, because it owns the -update flag. It is lab code: only tests import it.
package testkit
