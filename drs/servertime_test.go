package drs_test

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord/drssim"
)

// TestServerTimeIsDRSsClock: the client keeps the time DRS says it is, from
// the Date header of its answers, not its own: the simulator's clock here
// stands years away from the machine's.
func TestServerTimeIsDRSsClock(t *testing.T) {
	sc, err := drssim.LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sc)
	if _, ok := e.client.ServerTime(); ok {
		t.Fatal("a server time before any answer")
	}
	e.clock.Advance(90 * time.Minute)
	if _, err := e.client.JobsCreatedSince(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, ok := e.client.ServerTime()
	want := e.clock.Now().UTC().Truncate(time.Second)
	if !ok || !got.Equal(want) {
		t.Errorf("server time %s (%v); want the simulator's %s", got, ok, want)
	}
	// It follows DRS's clock forward.
	e.clock.Advance(time.Minute)
	if _, err := e.client.JobsCreatedSince(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got2, _ := e.client.ServerTime(); !got2.After(got) {
		t.Errorf("server time %s after a minute more, was %s", got2, got)
	}
}
