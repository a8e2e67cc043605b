package web

import (
	"context"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// noteHub wakes event streams when the store says an execution's log grew:
// one subscription to the store's notes per Handler (PostgreSQL's
// LISTEN/NOTIFY reaches every replica; SQLite's notes reach only this
// process), fanned out to the streams by execution. A note is a hint: a
// stream still reads the store every PollInterval, so that a lost note
// (or a writer in another process that SQLite cannot tell us of) delays
// an event by at most that.
type noteHub struct {
	once     sync.Once // subscribes, the first time a stream watches
	mu       sync.Mutex
	watchers map[string]map[chan struct{}]struct{} // by execution ID
}

// watch returns a channel that receives when execution id's log may have
// grown, and the function that stops watching.
func (h *Handler) watch(id string) (<-chan struct{}, func()) {
	hub := &h.notes
	ch := make(chan struct{}, 1)
	hub.mu.Lock()
	if hub.watchers == nil {
		hub.watchers = map[string]map[chan struct{}]struct{}{}
	}
	if hub.watchers[id] == nil {
		hub.watchers[id] = map[chan struct{}]struct{}{}
	}
	hub.watchers[id][ch] = struct{}{}
	hub.mu.Unlock()
	// The first stream subscribes, and every stream waits for that: the
	// store's Subscribe returns once notes flow, so that no change
	// committed after watch returns goes untold.
	hub.once.Do(h.followNotes)
	return ch, func() {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		delete(hub.watchers[id], ch)
		if len(hub.watchers[id]) == 0 {
			delete(hub.watchers, id)
		}
	}
}

// followNotes subscribes to the store's notes and, in the background,
// wakes the streams they concern until the Handler is closed, subscribing
// again after a failure.
func (h *Handler) followNotes() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-h.closed
		cancel()
	}()
	notes, err := h.cfg.Store.Subscribe(ctx)
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			if err != nil {
				h.log.Warn("event streams: listening to the store's notes failed; streams read the store every poll interval", "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Second):
				}
				notes, err = h.cfg.Store.Subscribe(ctx)
				h.wake("") // what was missed meanwhile
				continue
			}
			for n := range notes {
				switch n.Kind {
				case ripcord.NoteEvents:
					h.wake(n.ID)
				case ripcord.NoteResync:
					h.wake("")
				}
			}
			if ctx.Err() == nil {
				notes, err = h.cfg.Store.Subscribe(ctx)
				h.wake("")
			}
		}
	}()
}

// wake signals the watchers of execution id, or every watcher for "".
func (h *Handler) wake(id string) {
	hub := &h.notes
	hub.mu.Lock()
	defer hub.mu.Unlock()
	signal := func(set map[chan struct{}]struct{}) {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default: // already signalled
			}
		}
	}
	if id != "" {
		signal(hub.watchers[id])
		return
	}
	for _, set := range hub.watchers {
		signal(set)
	}
}
