// Package examples holds the example plans, embedded so that the ripcord
// binary can run them (ripcord demo) wherever it is installed.
package examples

import _ "embed"

// ThreeTier is examples/three-tier.yaml: the application "orders" of the
// simulator's three-tier scenario, in waves database, app, web.
//
//go:embed three-tier.yaml
var ThreeTier []byte
