package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// Notes are PostgreSQL notifications on the store's channel (see
// channelName), their payload the compact JSON of a ripcord.Note. A writer
// queues pg_notify in the transaction that makes the change, so that the
// note is delivered when, and only if, the change commits. Each Store
// receives them on one connection of its own (not the pool's), opened by
// the first Subscribe, and fans them out to its subscribers.

const (
	// subscriberBuffer is the buffer of each subscription's channel. Its
	// last place is kept for a NoteResync: a subscriber that falls
	// behind finds one there, and the notes it missed are dropped.
	subscriberBuffer = 64

	// maxPayload bounds a notification's payload (PostgreSQL refuses
	// 8000 bytes and more); a longer note is sent as a NoteResync.
	maxPayload = 7999

	// Reconnecting: at once after a connection drops, then after
	// backoffMin, doubling up to backoffMax, with jitter, while
	// attempts fail.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// queueNote queues the notification of n in b, which must run in the
// transaction of the change n tells about.
func (s *Store) queueNote(b *pgx.Batch, n ripcord.Note) {
	b.Queue(`SELECT pg_notify($1, $2)`, s.channel, notePayload(n))
}

func notePayload(n ripcord.Note) string {
	payload, err := json.Marshal(n)
	if err != nil || len(payload) > maxPayload {
		payload, _ = json.Marshal(ripcord.Note{Kind: ripcord.NoteResync})
	}
	return string(payload)
}

// Subscribe delivers the notes every replica sharing the store sends (this
// one's included) until ctx ends or the store is closed, then closes the
// channel. It returns once the store's listener connection listens, so
// that every change committed after Subscribe returns is told; if that
// connection cannot be made at once, it returns anyway, and the subscriber
// receives a NoteResync when the connection is made. A subscriber whose
// buffer is full, or whose notes were lost while the listener's connection
// was down (it reconnects, with backoff), receives a NoteResync instead of
// the notes it missed, after the listener listens again.
func (s *Store) Subscribe(ctx context.Context) (<-chan ripcord.Note, error) {
	return s.notes.subscribe(ctx)
}

// notifier is a Store's listener connection and its subscribers.
type notifier struct {
	s *Store

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	started bool // run was started
	closed  bool
	// listening: the listener connection is up and has run LISTEN.
	listening bool
	// failures counts the attempts to listen that failed and the
	// connections that dropped.
	failures int
	// changed is closed, and replaced, whenever listening or failures
	// changes.
	changed chan struct{}
	// conn is the listener connection while listening (for tests).
	conn *pgx.Conn

	cancel context.CancelFunc // stops run
	done   chan struct{}      // closed when run has returned
}

// subscriber is one subscription.
type subscriber struct {
	ch chan ripcord.Note
	// missed: notes may have been lost since the subscriber last had
	// one; it receives a NoteResync once the listener listens again.
	missed bool
}

func newNotifier(s *Store) *notifier {
	return &notifier{s: s, subs: map[*subscriber]struct{}{}, changed: make(chan struct{}), done: make(chan struct{})}
}

func (n *notifier) subscribe(ctx context.Context) (<-chan ripcord.Note, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("subscribe to " + n.s.where + ": the store is closed")
	}
	sub := &subscriber{ch: make(chan ripcord.Note, subscriberBuffer)}
	n.subs[sub] = struct{}{}
	if !n.started {
		n.started = true
		runCtx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		go n.run(runCtx)
	}
	failures := n.failures
	for !n.listening && n.failures == failures && !n.closed {
		changed := n.changed
		n.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			n.remove(sub)
			return nil, ctx.Err()
		}
		n.mu.Lock()
	}
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return nil, errors.New("subscribe to " + n.s.where + ": the store is closed")
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-n.done:
		}
		n.remove(sub)
	}()
	return sub.ch, nil
}

// remove ends a subscription, closing its channel.
func (n *notifier) remove(sub *subscriber) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.subs[sub]; ok {
		delete(n.subs, sub)
		close(sub.ch)
	}
}

// close stops the listener and ends every subscription.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	started := n.started
	if n.cancel != nil {
		n.cancel()
	}
	n.broadcastLocked()
	n.mu.Unlock()
	if started {
		<-n.done
	} else {
		close(n.done)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for sub := range n.subs {
		delete(n.subs, sub)
		close(sub.ch)
	}
}

// broadcastLocked wakes the Subscribe calls waiting for the listener.
func (n *notifier) broadcastLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// run keeps a listener connection until ctx ends: it connects and
// listens, delivers notifications until the connection drops, and starts
// again, at once the first time and then with backoff.
func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		conn, err := n.listen(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.lost()
			backoff = min(max(2*backoff, backoffMin), backoffMax)
			continue
		}
		n.connected(conn)
		err = n.receive(ctx, conn)
		n.mu.Lock()
		n.conn = nil
		n.mu.Unlock()
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		_ = err // the connection dropped: the subscribers are told by a NoteResync once it is back
		n.lost()
		backoff = 0
	}
}

// listen opens the listener connection and runs LISTEN on it.
func (n *notifier) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := n.s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "ripcord listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{n.s.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// connected marks the listener as listening on conn and tells the
// subscribers that missed notes meanwhile to re-read.
func (n *notifier) connected(conn *pgx.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.listening, n.conn = true, conn
	for sub := range n.subs {
		if sub.missed {
			sub.missed = false
			sub.send(ripcord.Note{Kind: ripcord.NoteResync})
		}
	}
	n.broadcastLocked()
}

// lost marks the listener as not listening: every subscriber may miss
// notes until it listens again.
func (n *notifier) lost() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.listening = false
	n.failures++
	for sub := range n.subs {
		sub.missed = true
	}
	n.broadcastLocked()
}

// receive delivers the notifications conn receives until it fails or ctx
// ends.
func (n *notifier) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var note ripcord.Note
		if json.Unmarshal([]byte(msg.Payload), &note) != nil || note.Kind == "" {
			note = ripcord.Note{Kind: ripcord.NoteResync} // not ripcord's: re-reading is always safe
		}
		n.mu.Lock()
		for sub := range n.subs {
			sub.send(note)
		}
		n.mu.Unlock()
	}
}

// send gives note to the subscriber without blocking; the notifier's
// lock serializes the senders. The buffer's last place is kept for a
// NoteResync: when the buffer is full, its last note is a NoteResync,
// which the subscriber has not read yet and which covers what is dropped.
func (sub *subscriber) send(note ripcord.Note) {
	switch l, c := len(sub.ch), cap(sub.ch); {
	case l < c-1:
		sub.ch <- note
	case l == c-1:
		sub.ch <- ripcord.Note{Kind: ripcord.NoteResync}
	}
}

// listenerPID returns the backend PID of the listener connection, 0 when
// it does not listen (for tests).
func (n *notifier) listenerPID() uint32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return 0
	}
	return n.conn.PgConn().PID()
}
