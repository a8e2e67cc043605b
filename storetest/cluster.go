package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// The ClusterStore part of the suite: the registry of replicas, named
// mutexes and notes. Expiry is judged on the suite's Clock; notes are
// waited for on their channel, never by sleeping.

// noteWait bounds the wait for a note that must arrive. It is generous: a
// store may deliver notes through its database (PostgreSQL's LISTEN), and
// a loaded CI machine may be slow; a correct store never comes near it.
const noteWait = 30 * time.Second

// newReplica returns a valid replica with ID id, run by a process on host.
// The owner's start time has nanoseconds, which the store drops.
func newReplica(id, host string) ripcord.Replica {
	return ripcord.Replica{ID: id, Owner: ripcord.LeaseOwner{Host: host, PID: 1000 + len(id), Started: at(-time.Hour)},
		Addr: "https://" + host + ":8443"}
}

// wantReplica returns r as a heartbeat's list must show it: the owner as
// the store keeps it, its times as offsets from base on the store's clock.
func wantReplica(r ripcord.Replica, base time.Time, started, seen, expires time.Duration) ripcord.Replica {
	r.Owner.Started = ripcord.StoreTime(r.Owner.Started)
	r.Started = ripcord.StoreTime(base.Add(started))
	r.Seen = ripcord.StoreTime(base.Add(seen))
	r.Expires = ripcord.StoreTime(base.Add(expires))
	r.Leaving = false
	return r
}

// checkReplicas fails unless got is want, in order, with every time in UTC.
func checkReplicas(t *testing.T, what string, got, want []ripcord.Replica) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.ID == w.ID && g.Owner.Host == w.Owner.Host && g.Owner.PID == w.Owner.PID &&
			g.Owner.Started.Equal(w.Owner.Started) && g.Addr == w.Addr && g.Leaving == w.Leaving &&
			g.Started.Equal(w.Started) && g.Seen.Equal(w.Seen) && g.Expires.Equal(w.Expires)
		for _, tm := range []time.Time{g.Owner.Started, g.Started, g.Seen, g.Expires} {
			same = same && tm.Location() == time.UTC
		}
	}
	if !same {
		t.Fatalf("%s =\n%+v\nwant\n%+v (ordered by ID, times in UTC to the microsecond)", what, got, want)
	}
}

// beat records a heartbeat of r and returns the live replicas.
func beat(t *testing.T, s ripcord.Store, r ripcord.Replica, ttl time.Duration) []ripcord.Replica {
	t.Helper()
	live, err := s.Heartbeat(context.Background(), r, ttl)
	if err != nil {
		t.Fatalf("Heartbeat(%s): %v", r.ID, err)
	}
	return live
}

func leave(t *testing.T, s ripcord.Store, id string) {
	t.Helper()
	if err := s.Leave(context.Background(), id); err != nil {
		t.Fatalf("Leave(%s): %v", id, err)
	}
}

// testHeartbeats: the live replicas are those whose last heartbeat has not
// expired on the store's clock, ordered by ID; a heartbeat renews a
// replica's expiry and keeps its first Started, even after it expired.
func testHeartbeats(t *testing.T, s ripcord.Store, clock *Clock) {
	const ttl = 30 * time.Second
	a, b := newReplica("r-a", "dr-host-a"), newReplica("r-b", "dr-host-b")
	base := clock.Now()
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }

	checkReplicas(t, "the first heartbeat (r-b at +0)", beat(t, s, b, ttl),
		[]ripcord.Replica{wantReplica(b, base, 0, 0, sec(30))})

	clock.Advance(sec(10))
	checkReplicas(t, "r-a's first heartbeat at +10", beat(t, s, a, ttl), []ripcord.Replica{
		wantReplica(a, base, sec(10), sec(10), sec(40)),
		wantReplica(b, base, 0, 0, sec(30)),
	})

	clock.Advance(sec(10))
	checkReplicas(t, "r-b's heartbeat at +20", beat(t, s, b, ttl), []ripcord.Replica{
		wantReplica(a, base, sec(10), sec(10), sec(40)),
		wantReplica(b, base, 0, sec(20), sec(50)),
	})

	// At +40 r-a's heartbeat expires: it is live only before.
	clock.Advance(sec(20) - time.Microsecond)
	checkReplicas(t, "r-b's heartbeat a microsecond before r-a expires", beat(t, s, b, ttl), []ripcord.Replica{
		wantReplica(a, base, sec(10), sec(10), sec(40)),
		wantReplica(b, base, 0, sec(40)-time.Microsecond, sec(70)-time.Microsecond),
	})
	clock.Advance(time.Microsecond)
	checkReplicas(t, "r-b's heartbeat as r-a expires (+40)", beat(t, s, b, ttl), []ripcord.Replica{
		wantReplica(b, base, 0, sec(40), sec(70)),
	})

	// r-a beats again: live again, since its first heartbeat, with what
	// it says now (another address, a shorter ttl).
	clock.Advance(sec(5))
	a.Addr = "https://dr-host-a:9443"
	checkReplicas(t, "r-a's heartbeat after it expired (+45)", beat(t, s, a, sec(10)), []ripcord.Replica{
		wantReplica(a, base, sec(10), sec(45), sec(55)),
		wantReplica(b, base, 0, sec(40), sec(70)),
	})

	// A replica with an ID that sorts first, and an empty address.
	c := newReplica("Q-c", "dr-host-c")
	c.Addr = ""
	checkReplicas(t, "Q-c's first heartbeat (+45)", beat(t, s, c, ttl), []ripcord.Replica{
		wantReplica(c, base, sec(45), sec(45), sec(75)),
		wantReplica(a, base, sec(10), sec(45), sec(55)),
		wantReplica(b, base, 0, sec(40), sec(70)),
	})

	// Long after every heartbeat expired, the first to beat again is
	// alone.
	clock.Advance(time.Hour)
	checkReplicas(t, "r-b's heartbeat an hour later", beat(t, s, b, ttl), []ripcord.Replica{
		wantReplica(b, base, 0, time.Hour+sec(45), time.Hour+sec(75)),
	})
}

// testLeave: a leaving replica is no longer live, at once; beating again
// makes it live again. Leave of an unknown ID is not an error.
func testLeave(t *testing.T, s ripcord.Store, clock *Clock) {
	const ttl = time.Minute
	a, b := newReplica("r-a", "dr-host-a"), newReplica("r-b", "dr-host-b")
	base := clock.Now()
	beat(t, s, a, ttl)
	beat(t, s, b, ttl)

	leave(t, s, "r-a")
	clock.Advance(time.Second)
	checkReplicas(t, "r-b's heartbeat after r-a left", beat(t, s, b, ttl), []ripcord.Replica{
		wantReplica(b, base, 0, time.Second, time.Second+ttl),
	})
	leave(t, s, "r-a")         // leaving twice
	leave(t, s, "r-never-was") // unknown
	leave(t, s, strings.Repeat("r", 200))

	clock.Advance(time.Second)
	checkReplicas(t, "r-a's heartbeat after it left", beat(t, s, a, ttl), []ripcord.Replica{
		wantReplica(a, base, 0, 2*time.Second, 2*time.Second+ttl),
		wantReplica(b, base, 0, time.Second, time.Second+ttl),
	})

	leave(t, s, "r-a")
	leave(t, s, "r-b")
	c := newReplica("r-c", "dr-host-c")
	checkReplicas(t, "r-c's heartbeat after the others left", beat(t, s, c, ttl), []ripcord.Replica{
		wantReplica(c, base, 2*time.Second, 2*time.Second, 2*time.Second+ttl),
	})
}

// testClusterInvalid: malformed input is EINVALID with a hint, and changes
// nothing: no replica is recorded, no mutex taken or released.
func testClusterInvalid(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const ttl = time.Minute
	ok := newReplica("r-ok", "dr-host-ok")
	held, err := s.AcquireMutex(ctx, "m-ok", "h-ok", ttl)
	if err != nil {
		t.Fatalf("AcquireMutex: %v", err)
	}
	replica := func(change func(*ripcord.Replica)) ripcord.Replica {
		r := newReplica("r-bad", "dr-host-bad")
		change(&r)
		return r
	}
	heartbeat := func(r ripcord.Replica, ttl time.Duration) func() error {
		return func() error { _, err := s.Heartbeat(ctx, r, ttl); return err }
	}
	acquire := func(name, holder string, ttl time.Duration) func() error {
		return func() error { _, err := s.AcquireMutex(ctx, name, holder, ttl); return err }
	}
	release := func(name, holder string) func() error {
		return func() error {
			m := held
			m.Name, m.Holder = name, holder
			_, err := s.ReleaseMutex(ctx, m, true)
			return err
		}
	}
	long := strings.Repeat("x", 201)
	tests := []struct {
		name string
		call func() error
	}{
		{"replica without ID", heartbeat(replica(func(r *ripcord.Replica) { r.ID = "" }), ttl)},
		{"replica ID with a newline", heartbeat(replica(func(r *ripcord.Replica) { r.ID = "r-bad\n" }), ttl)},
		{"replica ID with DEL", heartbeat(replica(func(r *ripcord.Replica) { r.ID = "r-\x7fbad" }), ttl)},
		{"replica ID of 201 bytes", heartbeat(replica(func(r *ripcord.Replica) { r.ID = long }), ttl)},
		{"replica ID not UTF-8", heartbeat(replica(func(r *ripcord.Replica) { r.ID = "r-bad-\xff" }), ttl)},
		{"owner without host", heartbeat(replica(func(r *ripcord.Replica) { r.Owner.Host = "" }), ttl)},
		{"owner with pid 0", heartbeat(replica(func(r *ripcord.Replica) { r.Owner.PID = 0 }), ttl)},
		{"owner without start time", heartbeat(replica(func(r *ripcord.Replica) { r.Owner.Started = time.Time{} }), ttl)},
		{"address with a NUL byte", heartbeat(replica(func(r *ripcord.Replica) { r.Addr = "https://dr\x00" }), ttl)},
		{"heartbeat with ttl 0", heartbeat(replica(func(*ripcord.Replica) {}), 0)},
		{"heartbeat with a negative ttl", heartbeat(replica(func(*ripcord.Replica) {}), -time.Second)},
		{"leave without ID", func() error { return s.Leave(ctx, "") }},
		{"leave with an ID with a newline", func() error { return s.Leave(ctx, "r-ok\n") }},
		{"mutex without name", acquire("", "h-bad", ttl)},
		{"mutex name of 201 bytes", acquire(long, "h-bad", ttl)},
		{"mutex name with a newline", acquire("m-bad\n", "h-bad", ttl)},
		{"mutex name with a NUL byte", acquire("m-\x00", "h-bad", ttl)},
		{"mutex name not UTF-8", acquire("m-\xfe", "h-bad", ttl)},
		{"mutex without holder", acquire("m-bad", "", ttl)},
		{"holder of 201 bytes", acquire("m-bad", long, ttl)},
		{"holder with a tab", acquire("m-bad", "h\tbad", ttl)},
		{"acquire with ttl 0", acquire("m-ok", "h-ok", 0)},
		{"acquire with a negative ttl", acquire("m-ok", "h-bad", -time.Minute)},
		{"release without name", release("", "h-ok")},
		{"release without holder", release("m-ok", "")},
		{"release with a holder with a newline", release("m-ok", "h-ok\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantCode(t, err, ripcord.EINVALID)
			if ripcord.ErrorHint(err) == "" {
				t.Errorf("the refusal has no hint: %v", err)
			}
		})
	}

	// Nothing was recorded: r-ok is alone, and m-ok is h-ok's as it was.
	clock.Advance(time.Second)
	checkReplicas(t, "the live replicas after the refusals", beat(t, s, ok, ttl),
		[]ripcord.Replica{wantReplica(ok, clock.Now(), 0, 0, ttl)})
	got, err := s.AcquireMutex(ctx, "m-ok", "h-other", ttl)
	wantCode(t, err, ripcord.ECONFLICT)
	checkMutex(t, "m-ok after the refusals", got, held)

	// The longest name and holder are fine.
	name, holder := strings.Repeat("m", 200), strings.Repeat("h", 200)
	m, err := s.AcquireMutex(ctx, name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireMutex with a 200-byte name and holder: %v", err)
	}
	if _, err := s.ReleaseMutex(ctx, m, true); err != nil {
		t.Fatalf("ReleaseMutex with a 200-byte name and holder: %v", err)
	}
	long200 := newReplica(strings.Repeat("r", 200), "dr-host-long")
	if _, err := s.Heartbeat(ctx, long200, ttl); err != nil {
		t.Fatalf("Heartbeat with a 200-byte ID: %v", err)
	}
	leave(t, s, long200.ID)
}

// checkMutex fails unless got is want, its expiry in UTC.
func checkMutex(t *testing.T, what string, got, want ripcord.Mutex) {
	t.Helper()
	if got.Name != want.Name || got.Holder != want.Holder || got.Gen != want.Gen ||
		!got.Expires.Equal(want.Expires) || got.Expires.Location() != time.UTC {
		t.Fatalf("%s =\n%+v\nwant\n%+v (expiry in UTC, to the microsecond)", what, got, want)
	}
}

// testMutexes: a mutex is taken when free, expired or already the
// holder's (a renewal), and refused otherwise, with the mutex as it is. A
// release by a holder whose mutex another took is refused and changes
// nothing. Gen grows only with a release that changed something, and is
// kept whoever holds the mutex.
func testMutexes(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	const name = "target/123456789012/eu-west-1"
	base := clock.Now()
	mutex := func(holder string, gen int64, expires time.Duration) ripcord.Mutex {
		return ripcord.Mutex{Name: name, Holder: holder, Gen: gen, Expires: ripcord.StoreTime(base.Add(expires))}
	}
	acquire := func(t *testing.T, holder string, want ripcord.Mutex) ripcord.Mutex {
		t.Helper()
		got, err := s.AcquireMutex(ctx, want.Name, holder, ttl)
		if err != nil {
			t.Fatalf("AcquireMutex(%s, %s): %v", want.Name, holder, err)
		}
		checkMutex(t, fmt.Sprintf("AcquireMutex(%s, %s)", want.Name, holder), got, want)
		return got
	}
	// refused checks that holder cannot take the mutex, which is held.
	refused := func(t *testing.T, holder string, held ripcord.Mutex) {
		t.Helper()
		got, err := s.AcquireMutex(ctx, held.Name, holder, ttl)
		wantCode(t, err, ripcord.ECONFLICT)
		if errors.Is(err, ripcord.ErrLeaseLost) {
			t.Fatalf("a refused acquisition is ErrLeaseLost: %v; nobody lost anything", err)
		}
		checkMutex(t, fmt.Sprintf("the mutex returned with the refusal of %s", holder), got, held)
		if !strings.Contains(err.Error(), held.Name) || !strings.Contains(err.Error(), held.Holder) {
			t.Errorf("err = %q, want it to name the mutex %s and its holder %s", err, held.Name, held.Holder)
		}
		if ripcord.ErrorHint(err) == "" {
			t.Errorf("the refusal of a held mutex has no hint: %v", err)
		}
	}
	release := func(t *testing.T, m ripcord.Mutex, changed bool, wantGen int64) ripcord.Mutex {
		t.Helper()
		got, err := s.ReleaseMutex(ctx, m, changed)
		if err != nil {
			t.Fatalf("ReleaseMutex(%s by %s, changed %v): %v", m.Name, m.Holder, changed, err)
		}
		if got.Name != m.Name || got.Holder != m.Holder || got.Gen != wantGen || got.Expires.After(clock.Now()) || got.Expires.Location() != time.UTC {
			t.Fatalf("ReleaseMutex(%s by %s, changed %v) = %+v; want it released by its holder (expiring no later than now, %s, in UTC) with gen %d",
				m.Name, m.Holder, changed, got, clock.Now(), wantGen)
		}
		return got
	}
	lost := func(t *testing.T, m ripcord.Mutex, holder ripcord.Mutex) {
		t.Helper()
		_, err := s.ReleaseMutex(ctx, m, true)
		wantCode(t, err, ripcord.ECONFLICT)
		if !errors.Is(err, ripcord.ErrLeaseLost) {
			t.Fatalf("err = %v, want ErrLeaseLost in its chain: %s's mutex was taken over", err, m.Holder)
		}
		if !strings.Contains(err.Error(), m.Name) {
			t.Errorf("err = %q, want it to name the mutex %s", err, m.Name)
		}
		// Nothing changed: the holder still holds it, with its gen.
		if holder.Expires.After(clock.Now()) {
			refused(t, "h-onlooker", holder)
		}
	}

	a1 := acquire(t, "h-a", mutex("h-a", 0, 30*time.Second))
	clock.Advance(10 * time.Second)
	a2 := acquire(t, "h-a", mutex("h-a", 0, 40*time.Second)) // a renewal
	clock.Advance(5 * time.Second)
	refused(t, "h-b", a2)
	refused(t, "h-b", a2) // a refusal changes nothing

	// +40: h-a's hold has expired (it is live only before); h-b takes
	// the mutex, and h-a can release nothing.
	clock.Advance(25*time.Second - time.Microsecond)
	refused(t, "h-b", a2)
	clock.Advance(time.Microsecond)
	b1 := acquire(t, "h-b", mutex("h-b", 0, 70*time.Second))
	lost(t, a1, b1)
	lost(t, a2, b1)

	// h-b releases without a change: gen stays, and the mutex is free at
	// once.
	clock.Advance(5 * time.Second) // +45
	release(t, b1, false, 0)
	a3 := acquire(t, "h-a", mutex("h-a", 0, 75*time.Second))
	lost(t, b1, a3) // h-b released it, h-a holds it now

	// Releases with a change: gen grows, whoever releases.
	release(t, a3, true, 1)
	b2 := acquire(t, "h-b", mutex("h-b", 1, 75*time.Second))
	release(t, b2, true, 2)
	a4 := acquire(t, "h-a", mutex("h-a", 2, 75*time.Second))

	// An expired mutex nobody took is still its holder's to release,
	// and to renew.
	clock.Advance(time.Hour) // +1h0m45s
	release(t, a4, true, 3)
	a5 := acquire(t, "h-a", mutex("h-a", 3, time.Hour+75*time.Second))
	clock.Advance(time.Hour) // +2h0m45s
	a6 := acquire(t, "h-a", mutex("h-a", 3, 2*time.Hour+75*time.Second))
	lost(t, b2, a6)

	// Taken over after it expired, even if the new holder's hold expired
	// too: the old holder's release is refused.
	clock.Advance(ttl) // +2h1m15s: a6 has expired
	b3 := acquire(t, "h-b", mutex("h-b", 3, 2*time.Hour+105*time.Second))
	clock.Advance(ttl) // b3 has expired
	lost(t, a5, b3)
	lost(t, a6, b3)
	acquire(t, "h-c", mutex("h-c", 3, 2*time.Hour+135*time.Second)) // the refusals changed nothing: gen 3

	// Mutexes are independent; one never acquired cannot be released.
	other := ripcord.Mutex{Name: "target/123456789012/us-east-1", Holder: "h-a", Expires: ripcord.StoreTime(clock.Now().Add(ttl))}
	acquire(t, "h-a", other)
	_, err := s.ReleaseMutex(ctx, ripcord.Mutex{Name: "never-acquired", Holder: "h-a"}, true)
	wantCode(t, err, ripcord.ENOTFOUND)
}

// testMutexRace: holders that acquire a mutex at the same moment: exactly
// one wins, and the others are refused with the winner's mutex. Each round
// starts once the last winner released the mutex (with a change) or its
// hold expired.
func testMutexRace(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const holders, rounds, ttl = 8, 6, 30 * time.Second
	var gen int64
	for round := range rounds {
		start := make(chan struct{})
		got := make([]ripcord.Mutex, holders)
		errs := make([]error, holders)
		var wg sync.WaitGroup
		for h := range holders {
			wg.Go(func() {
				<-start
				got[h], errs[h] = s.AcquireMutex(ctx, "race", fmt.Sprint("holder-", h), ttl)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for h, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: holders %d and %d both acquired the mutex", round, winner, h)
			case err == nil:
				winner = h
			case ripcord.ErrorCode(err) != ripcord.ECONFLICT:
				t.Fatalf("round %d: holder %d: %v, want a conflict", round, h, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody acquired the mutex: %v", round, errs)
		}
		won := got[winner]
		checkMutex(t, fmt.Sprintf("round %d: the winner's mutex", round), won,
			ripcord.Mutex{Name: "race", Holder: fmt.Sprint("holder-", winner), Gen: gen, Expires: ripcord.StoreTime(clock.Now().Add(ttl))})
		for h := range holders {
			if h != winner {
				checkMutex(t, fmt.Sprintf("round %d: the mutex returned to loser %d", round, h), got[h], won)
			}
		}
		if round%2 == 0 {
			released, err := s.ReleaseMutex(ctx, won, true)
			if err != nil {
				t.Fatalf("round %d: ReleaseMutex: %v", round, err)
			}
			if gen++; released.Gen != gen {
				t.Fatalf("round %d: released with gen %d, want %d", round, released.Gen, gen)
			}
		} else {
			clock.Advance(ttl)
		}
	}
}

// subscribe subscribes to s's notes until ctx ends.
func subscribe(t *testing.T, s ripcord.Store, ctx context.Context) <-chan ripcord.Note {
	t.Helper()
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}

// waitNotes receives from ch until every note of want has arrived (as
// many times as want lists it), passing over the others: notes may come
// in any order, and with others between them. It fails if ch closes or
// the notes are not all there within noteWait.
func waitNotes(t *testing.T, ch <-chan ripcord.Note, want ...ripcord.Note) {
	t.Helper()
	missing := map[ripcord.Note]int{}
	for _, n := range want {
		missing[n]++
	}
	timer := time.NewTimer(noteWait)
	defer timer.Stop()
	var others []ripcord.Note
	for len(missing) > 0 {
		select {
		case n, ok := <-ch:
			if !ok {
				t.Fatalf("the channel closed before %v arrived (other notes: %v)", missing, others)
			}
			if missing[n] > 0 {
				if missing[n]--; missing[n] == 0 {
					delete(missing, n)
				}
			} else if len(others) < 100 {
				others = append(others, n)
			}
		case <-timer.C:
			t.Fatalf("no %v within %s (other notes: %v)", missing, noteWait, others)
		}
	}
}

// waitClosed receives from ch until it closes, failing after noteWait.
func waitClosed(t *testing.T, ch <-chan ripcord.Note) {
	t.Helper()
	timer := time.NewTimer(noteWait)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("the channel is still open %s later", noteWait)
		}
	}
}

// testNotes: a subscriber receives a note for every change it is told
// of: NoteEvents after CreateExecution and Append, NoteLease after
// ReleaseLease, NoteReplicas after a replica's first heartbeat, its Leave,
// and its heartbeat after it left. Every subscriber receives every note.
func testNotes(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, second := subscribe(t, s, ctx), subscribe(t, s, ctx)
	events := ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}
	lease := ripcord.Note{Kind: ripcord.NoteLease, ID: "ex-1"}
	replicas := ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-a"}

	create(t, s, "ex-1")
	waitNotes(t, first, events)
	if _, err := s.Append(ctx, "ex-1", 1, 0, []ripcord.Event{event("StepStarted", `{"step":"db"}`)}, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	waitNotes(t, first, events)

	l, err := s.AcquireLease(ctx, "ex-1", ownerA, time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	if _, err := s.Append(ctx, "ex-1", 2, l.Epoch, []ripcord.Event{event("DriverStarted", "")}, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	waitNotes(t, first, events)
	if err := s.ReleaseLease(ctx, l); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	waitNotes(t, first, lease)

	a := newReplica("r-a", "dr-host-a")
	beat(t, s, a, time.Minute)
	waitNotes(t, first, replicas)
	leave(t, s, "r-a")
	waitNotes(t, first, replicas)
	beat(t, s, a, time.Minute)
	waitNotes(t, first, replicas)

	waitNotes(t, second, events, events, events, lease, replicas, replicas, replicas)
}

// testNotesCancel: a subscription ends with its context, and its channel
// closes; the others go on.
func testNotesCancel(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended, endIt := context.WithCancel(ctx)
	gone := subscribe(t, s, ended)
	stays := subscribe(t, s, ctx)
	create(t, s, "ex-1")
	waitNotes(t, gone, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"})

	endIt()
	waitClosed(t, gone)
	beat(t, s, newReplica("r-a", "dr-host-a"), time.Minute)
	waitNotes(t, stays, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-a"})

	// A context that has ended already: an error, or a channel that
	// closes.
	if ch, err := s.Subscribe(ended); err == nil {
		waitClosed(t, ch)
	}
}

// testNotesFallBehind: a subscriber that does not read blocks no writer,
// and is told with a NoteResync when it missed notes.
func testNotesFallBehind(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := subscribe(t, s, ctx)
	create(t, s, "ex-1")

	const appends = 600 // more than a store may buffer for a subscriber
	done := make(chan error, 1)
	go func() {
		for seq := range int64(appends) {
			if _, err := s.Append(ctx, "ex-1", seq+1, 0, []ripcord.Event{event("Noted", "")}, nil); err != nil {
				done <- fmt.Errorf("append after %d: %w", seq+1, err)
				return
			}
		}
		done <- nil
	}()
	timer := time.NewTimer(2 * noteWait)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-timer.C:
		// Reading now unblocks the writer, so that the store can close
		// when the test ends (a blocked writer may block Close too).
		t.Errorf("%d appends did not finish within %s: a subscriber that does not read blocks the writer", appends, 2*noteWait)
		for {
			select {
			case <-slow:
				continue
			case <-done:
			}
			return
		}
	}

	// Now it reads: every note, or a NoteResync in place of those it
	// missed.
	events := 0
	for events < appends+1 {
		select {
		case n, ok := <-slow:
			switch {
			case !ok:
				t.Fatalf("the channel closed after %d of %d notes and no NoteResync", events, appends+1)
			case n.Kind == ripcord.NoteResync:
				return
			case n == ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}:
				events++
			}
		case <-timer.C:
			t.Fatalf("%d of %d notes and no NoteResync within %s", events, appends+1, 2*noteWait)
		}
	}
}

// testClusterClosed: a closed store ends its subscriptions and refuses
// the cluster calls.
func testClusterClosed(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx := context.Background()
	m, err := s.AcquireMutex(ctx, "m", "h-a", time.Minute)
	if err != nil {
		t.Fatalf("AcquireMutex: %v", err)
	}
	ch := subscribe(t, s, ctx)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, ch)
	calls := []struct {
		name string
		call func() error
	}{
		{"Heartbeat", func() error { _, err := s.Heartbeat(ctx, newReplica("r-a", "dr-host-a"), time.Minute); return err }},
		{"Leave", func() error { return s.Leave(ctx, "r-a") }},
		{"AcquireMutex", func() error { _, err := s.AcquireMutex(ctx, "m", "h-a", time.Minute); return err }},
		{"ReleaseMutex", func() error { _, err := s.ReleaseMutex(ctx, m, true); return err }},
		{"Subscribe", func() error { _, err := s.Subscribe(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err == nil {
				t.Errorf("%s on a closed store succeeded", c.name)
			}
		})
	}
}

// testClusterCancelledContext: a call with an ended context fails and
// changes nothing.
func testClusterCancelledContext(t *testing.T, s ripcord.Store, clock *Clock) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := context.Background()
	a, b := newReplica("r-a", "dr-host-a"), newReplica("r-b", "dr-host-b")
	beat(t, s, b, time.Minute)
	if _, err := s.Heartbeat(ended, a, time.Minute); err == nil {
		t.Error("Heartbeat with a cancelled context succeeded")
	}
	if err := s.Leave(ended, "r-b"); err == nil {
		t.Error("Leave with a cancelled context succeeded")
	}
	if _, err := s.AcquireMutex(ended, "m", "h-a", time.Minute); err == nil {
		t.Error("AcquireMutex with a cancelled context succeeded")
	}
	c := newReplica("r-c", "dr-host-c")
	checkReplicas(t, "the live replicas after the cancelled calls", beat(t, s, c, time.Minute), []ripcord.Replica{
		wantReplica(b, clock.Now(), 0, 0, time.Minute),
		wantReplica(c, clock.Now(), 0, 0, time.Minute),
	})
	m, err := s.AcquireMutex(ctx, "m", "h-b", time.Minute)
	if err != nil {
		t.Fatalf("AcquireMutex after a cancelled one: %v", err)
	}
	if _, err := s.ReleaseMutex(ended, m, true); err == nil {
		t.Error("ReleaseMutex with a cancelled context succeeded")
	}
	got, err := s.AcquireMutex(ctx, "m", "h-c", time.Minute)
	wantCode(t, err, ripcord.ECONFLICT)
	checkMutex(t, "the mutex after a cancelled release", got, m)
}
