package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestDemo runs the demonstration at a high time scale and checks, on the
// simulator's own model, that it did what it claims: one LAUNCH job per
// tier, each started only after every server of the previous tier was
// LAUNCHED, the earlier TERMINATE job waited for, and every drill instance
// terminated.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cfg := defaultDemoConfig()
	cfg.virtual = true // the same run every time, whatever the machine's load
	cfg.Exit = true
	state, err := runDemo(ctx, &out, cfg)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"2 blocked by job drsjob-3f0c2a9b7d1e45a60",
		"step database   succeeded pending 0, in progress 0, launched 2, failed 0",
		"step app        succeeded pending 0, in progress 0, launched 2, failed 0",
		"step web        succeeded pending 0, in progress 0, launched 2, failed 0",
		"cleanup: 6 drill instances terminated and verified gone",
		"RTO measured:",
		"launches DRS refused: 0",
		"SUCCEEDED",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if len(state.Regions) != 1 {
		t.Fatalf("regions: %d", len(state.Regions))
	}
	r := state.Regions[0]
	tiers := map[string]string{}
	for _, s := range r.Servers {
		tiers[s.SourceServerID] = s.Tags["Tier"]
	}
	var launches []int
	var seeded, terminates int
	for i, j := range r.Jobs {
		switch {
		case j.JobID == "drsjob-3f0c2a9b7d1e45a60":
			seeded = i
		case j.Type == "LAUNCH":
			launches = append(launches, i)
		case j.Type == "TERMINATE":
			terminates++
		}
	}
	if len(launches) != 3 || terminates != 1 {
		t.Fatalf("want 3 LAUNCH jobs and 1 cleanup TERMINATE job besides the seeded one, got %d and %d", len(launches), terminates)
	}
	want := []string{"database", "app", "web"}
	prevDone := r.Jobs[seeded].Ended
	for k, i := range launches {
		j := r.Jobs[i]
		if !j.IsDrill || len(j.Servers) != 2 {
			t.Errorf("job %s: drill=%v servers=%d", j.JobID, j.IsDrill, len(j.Servers))
		}
		if j.Created.Before(prevDone) {
			t.Errorf("wave %s job %s created at %s, before the previous wave (or the blocking job) was done at %s",
				want[k], j.JobID, j.Created, prevDone)
		}
		var last time.Time
		for _, s := range j.Servers {
			if tiers[s.SourceServerID] != want[k] {
				t.Errorf("job %s holds %s of tier %s, want tier %s", j.JobID, s.SourceServerID, tiers[s.SourceServerID], want[k])
			}
			if s.LaunchStatus != "LAUNCHED" {
				t.Errorf("job %s server %s: %s", j.JobID, s.SourceServerID, s.LaunchStatus)
			}
			if s.Finished.After(last) {
				last = s.Finished
			}
		}
		prevDone = last
	}
	for _, in := range r.Instances {
		if !in.Deleted || in.Ec2InstanceState != "TERMINATED" {
			t.Errorf("instance %s left behind: deleted=%v state=%s", in.RecoveryInstanceID, in.Deleted, in.Ec2InstanceState)
		}
	}
}

// TestDemoServesTheConsole: the demo prints the console's address and a
// viewer token; the token reads the drill through the API; after the drill
// the demo keeps serving until its context ends, then returns cleanly.
func TestDemoServesTheConsole(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	cfg := defaultDemoConfig()
	cfg.virtual = true
	type ready struct{ addr, token, id string }
	readyc := make(chan ready, 1)
	cfg.ready = func(addr, token, id string) { readyc <- ready{addr, token, id} }
	done := make(chan error, 1)
	var out syncBuffer
	go func() {
		_, err := runDemo(ctx, &out, cfg)
		done <- err
	}()
	var r ready
	select {
	case r = <-readyc:
	case err := <-done:
		t.Fatalf("the demo ended before serving the console: %v\n%s", err, out.String())
	}
	cl, err := client.New("http://"+r.addr, r.token)
	if err != nil {
		t.Fatal(err)
	}
	// Follow the demo's drill to its end through the API, as a viewer.
	errEnd := errors.New("cleaned up")
	if err := cl.Follow(ctx, r.id, 0, func(ev ripcord.Event) error {
		if ev.Type == engine.EvCleanupFinished {
			return errEnd
		}
		return nil
	}); !errors.Is(err, errEnd) {
		t.Fatalf("following the demo's drill: %v", err)
	}
	if _, err := cl.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill}); !client.IsCode(err, client.EFORBIDDEN) {
		t.Errorf("the demo's viewer token started a drill: %v; want it forbidden", err)
	}
	resp, err := http.Get("http://" + r.addr + "/console/signin")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the console's sign-in page: %v %v", resp, err)
	}
	resp.Body.Close()
	select {
	case err := <-done:
		t.Fatalf("the demo ended after the drill without --exit: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("the demo after Ctrl-C: %v", err)
	}
	if !strings.Contains(out.String(), "Console: http://"+r.addr+"/console") || !strings.Contains(out.String(), r.token) {
		t.Errorf("the demo did not print the console's address and token:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
