package sqlite

import (
	"context"
	"errors"
	"sync"

	"github.com/ripcord-dr/ripcord"
)

// SQLite has no way to tell another process that a file changed, so notes
// do not cross processes, nor even two Stores of one process on the same
// file: a Store delivers to its subscribers the notes of its own writes
// (Append, CreateExecution, ReleaseLease, Heartbeat, Leave), sent after
// their transactions commit. What another process writes is seen only by
// reading; the web's event streams and the supervisor keep a slow poll for
// that.

// noteBuffer is how many notes a subscriber may leave unread before it
// gets a NoteResync instead of them.
const noteBuffer = 256

// errClosed is returned to a subscriber of a closed Store.
var errClosed = errors.New("the store is closed")

// notes is a Store's broadcaster: every subscriber has a buffered channel,
// and a note is put in each without ever waiting. A subscriber whose
// buffer is full has its pending notes dropped and a single NoteResync
// queued in their place, so that a slow reader can neither block a writer
// nor miss a change unawares.
type notes struct {
	mu     sync.Mutex
	subs   map[chan ripcord.Note]struct{}
	closed bool
	done   chan struct{} // closed by close
}

func newNotes() *notes {
	return &notes{subs: map[chan ripcord.Note]struct{}{}, done: make(chan struct{})}
}

// subscribe returns a new subscriber's channel, which closes when ctx ends
// or the broadcaster closes.
func (n *notes) subscribe(ctx context.Context) (<-chan ripcord.Note, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errClosed
	}
	ch := make(chan ripcord.Note, noteBuffer)
	n.subs[ch] = struct{}{}
	go func() {
		select {
		case <-ctx.Done():
		case <-n.done:
		}
		n.unsubscribe(ch)
	}()
	return ch, nil
}

// unsubscribe closes ch unless close did.
func (n *notes) unsubscribe(ch chan ripcord.Note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.subs[ch]; ok {
		delete(n.subs, ch)
		close(ch)
	}
}

// send gives note to every subscriber, without waiting for any.
func (n *notes) send(note ripcord.Note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- note:
			continue
		default:
		}
		// Full: what is pending is replaced by one NoteResync. The
		// subscriber may be reading at the same time, which only makes
		// room; nobody else sends (n.mu is held), so the resync fits.
	drain:
		for {
			select {
			case <-ch:
			default:
				break drain
			}
		}
		select {
		case ch <- ripcord.Note{Kind: ripcord.NoteResync}:
		default:
		}
	}
}

// close closes every subscriber's channel and refuses new subscribers. A
// second call does nothing.
func (n *notes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	close(n.done)
	for ch := range n.subs {
		delete(n.subs, ch)
		close(ch)
	}
}
