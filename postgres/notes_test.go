package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/storetest"
)

// noteWithin bounds the wait for a note between replicas: the brief's
// promise is "within a second".
const noteWithin = time.Second

// next receives the next note from ch within d.
func next(t *testing.T, ch <-chan ripcord.Note, d time.Duration) ripcord.Note {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case n, ok := <-ch:
		if !ok {
			t.Fatal("the channel closed")
		}
		return n
	case <-timer.C:
		t.Fatalf("no note within %s", d)
	}
	return ripcord.Note{}
}

// expect receives the next note from ch within noteWithin and fails unless
// it is want.
func expect(t *testing.T, ch <-chan ripcord.Note, want ripcord.Note) {
	t.Helper()
	if got := next(t, ch, noteWithin); got != want {
		t.Fatalf("note = %+v, want %+v", got, want)
	}
}

// TestNotesAcrossStores: two Stores on one database, as two replicas
// (each its own pool and listener), hear each other's notes within a
// second, in commit order.
func TestNotesAcrossStores(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.DSN(t)
	clock := storetest.NewClock(t0)
	a, b := openStore(t, dsn, WithClock(clock.Now)), openStore(t, dsn, WithClock(clock.Now))
	fromA, err := a.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}

	events := ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}
	fill(t, b) // a create and an append
	expect(t, fromA, events)
	expect(t, fromA, events)
	l, err := b.AcquireLease(ctx, "ex-1", driverB, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	expect(t, fromA, ripcord.Note{Kind: ripcord.NoteLease, ID: "ex-1"})
	if _, err := b.Heartbeat(ctx, ripcord.Replica{ID: "r-b", Owner: driverB}, time.Minute); err != nil {
		t.Fatal(err)
	}
	expect(t, fromA, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-b"})
	if _, err := b.Heartbeat(ctx, ripcord.Replica{ID: "r-b", Owner: driverB}, time.Minute); err != nil {
		t.Fatal(err) // a renewal: no note
	}
	if err := b.Leave(ctx, "r-b"); err != nil {
		t.Fatal(err)
	}
	expect(t, fromA, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-b"})

	// And back: b hears a's, after its own.
	if _, err := a.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Noted"}}, nil); err != nil {
		t.Fatal(err)
	}
	want := []ripcord.Note{events, events, {Kind: ripcord.NoteLease, ID: "ex-1"},
		{Kind: ripcord.NoteReplicas, ID: "r-b"}, {Kind: ripcord.NoteReplicas, ID: "r-b"}, events}
	for _, w := range want {
		expect(t, fromB, w)
	}
	expect(t, fromA, events)

	// A refused append sends nothing: the next note is the next change.
	if _, err := b.Append(ctx, "ex-1", 1, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Stale"}}, nil); ripcord.ErrorCode(err) != ripcord.ECONFLICT {
		t.Fatalf("stale Append: %v", err)
	}
	if _, err := b.Heartbeat(ctx, ripcord.Replica{ID: "r-c", Owner: driverB}, time.Minute); err != nil {
		t.Fatal(err)
	}
	expect(t, fromA, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-c"})
}

// TestNotesSchemasApart: stores in two schemas of one database are two
// stores: neither hears the other's notes.
func TestNotesSchemasApart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := openStore(t, pgtest.DSN(t)), openStore(t, pgtest.DSN(t))
	if a.channel == b.channel {
		t.Fatalf("both stores notify on %q", a.channel)
	}
	fromB, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, a) // committed before b's change: a leak would arrive first
	if _, err := b.Heartbeat(ctx, ripcord.Replica{ID: "r-b", Owner: driverB}, time.Minute); err != nil {
		t.Fatal(err)
	}
	expect(t, fromB, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-b"})
}

// TestListenerKilled: when the listener's connection is killed, the
// subscribers receive a NoteResync once it listens again, and notes after.
func TestListenerKilled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	expect(t, ch, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"})
	expect(t, ch, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"})

	raw := rawConn(t, dsn)
	for kill := range 2 {
		pid := s.notes.listenerPID()
		if pid == 0 {
			t.Fatalf("kill %d: no listener connection", kill)
		}
		var killed bool
		if err := raw.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
			t.Fatalf("kill %d: pg_terminate_backend(%d) = %v, %v", kill, pid, killed, err)
		}
		// The reconnection is immediate; the bound is generous.
		if n := next(t, ch, 30*time.Second); n.Kind != ripcord.NoteResync {
			t.Fatalf("kill %d: note = %+v, want a NoteResync", kill, n)
		}
		if now := s.notes.listenerPID(); now == 0 || now == pid {
			t.Fatalf("kill %d: listener pid %d after the resync (was %d)", kill, now, pid)
		}
		if _, err := s.Append(ctx, "ex-1", int64(3+kill), 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Noted"}}, nil); err != nil {
			t.Fatal(err)
		}
		expect(t, ch, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"})
	}
	// A subscriber that comes after is not told to resync.
	late, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, ripcord.Replica{ID: "r-1", Owner: driverA}, time.Minute); err != nil {
		t.Fatal(err)
	}
	expect(t, late, ripcord.Note{Kind: ripcord.NoteReplicas, ID: "r-1"})
}

// TestSubscriberBuffer: a subscriber that does not read gets its buffer
// filled up to the last place, which holds a NoteResync; later notes are
// dropped while it is full, and once it reads, notes flow again.
func TestSubscriberBuffer(t *testing.T) {
	sub := &subscriber{ch: make(chan ripcord.Note, subscriberBuffer)}
	n := ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}
	for range 3 * subscriberBuffer {
		sub.send(n)
	}
	if len(sub.ch) != subscriberBuffer {
		t.Fatalf("buffer holds %d notes, want %d", len(sub.ch), subscriberBuffer)
	}
	for i := range subscriberBuffer - 1 {
		if got := <-sub.ch; got != n {
			t.Fatalf("note %d = %+v, want %+v", i, got, n)
		}
	}
	if got := <-sub.ch; got.Kind != ripcord.NoteResync {
		t.Fatalf("the last note = %+v, want a NoteResync", got)
	}
	sub.send(n)
	if got := <-sub.ch; got != n {
		t.Fatalf("after reading, note = %+v, want %+v", got, n)
	}
}

// TestNotePayload: a note is sent as its compact JSON; one too long for a
// notification becomes a NoteResync.
func TestNotePayload(t *testing.T) {
	if got := notePayload(ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"}); got != `{"kind":"events","id":"ex-1"}` {
		t.Errorf("payload = %s", got)
	}
	if got := notePayload(ripcord.Note{Kind: ripcord.NoteResync}); got != `{"kind":"resync"}` {
		t.Errorf("payload = %s", got)
	}
	long := notePayload(ripcord.Note{Kind: ripcord.NoteEvents, ID: strings.Repeat("x", maxPayload)})
	var n ripcord.Note
	if err := json.Unmarshal([]byte(long), &n); err != nil || n.Kind != ripcord.NoteResync {
		t.Errorf("a note too long = %s, want a NoteResync", long)
	}
}

// TestForeignNotification: a notification on the store's channel that is
// not a note (someone ran NOTIFY by hand) is a NoteResync.
func TestForeignNotification(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawConn(t, dsn).Exec(ctx, `SELECT pg_notify($1, 'hello')`, s.channel); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, ripcord.Note{Kind: ripcord.NoteResync})
}

// TestSubscribeWhileUnreachable: when the listener cannot connect,
// Subscribe returns all the same; once the database takes connections
// again the listener gets in (with backoff) and the subscriber receives a
// NoteResync, then notes.
func TestSubscribeWhileUnreachable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.Database(t)
	s := openStore(t, dsn)
	fill(t, s) // the pool holds connections from here on
	var name string
	if err := rawConn(t, dsn).QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, pgtest.Server()) // the server's own database: ALTER DATABASE cannot lock out its own session
	if _, err := raw.Exec(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe while the database refuses connections: %v", err)
	}
	if pid := s.notes.listenerPID(); pid != 0 {
		t.Fatalf("a listener connection (pid %d) while the database refuses connections", pid)
	}
	if _, err := raw.Exec(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	if n := next(t, ch, 30*time.Second); n.Kind != ripcord.NoteResync {
		t.Fatalf("note = %+v, want a NoteResync once the listener is in", n)
	}
	if _, err := s.Append(ctx, "ex-1", 3, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Noted"}}, nil); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, ripcord.Note{Kind: ripcord.NoteEvents, ID: "ex-1"})
}
