package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// Reading an execution without folding its whole log more than once. Load
// folds every event (a 20,000-server execution has some 40,000); a command
// that needs less asks for less: Spec reads the first event alone, Follow
// applies only the events appended since the state it is given.

// Spec returns what execution id runs: the data of its first event,
// ExecutionStarted, read alone. It is what Load(ctx, id).Spec would be, for
// a command that needs the execution's targets (to connect to DRS) before
// Run, which folds the log itself.
func (e *Engine) Spec(ctx context.Context, id string) (Spec, error) {
	evs, err := e.cfg.Store.Events(ctx, id, 0, 1)
	if err != nil {
		return Spec{}, err
	}
	if len(evs) == 0 {
		return Spec{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "execution " + id + " has no events"}
	}
	ev := evs[0]
	if ev.Type != EvExecutionStarted || ev.At.IsZero() {
		// Not a log the engine writes (it starts every execution with
		// ExecutionStarted, at a time); the fold says what it means.
		s, err := e.Load(ctx, id)
		if err != nil {
			return Spec{}, err
		}
		return s.Spec, nil
	}
	var spec Spec
	if decodeSpec(ev.Data, &spec) {
		return spec, nil
	}
	spec = Spec{}
	if err := json.Unmarshal(ev.Data, &spec); err != nil {
		return Spec{}, fmt.Errorf("execution %s: event %d (%s): %w", id, ev.Seq, ev.Type, err)
	}
	return spec, nil
}

// Follow brings s, the state of an execution as Load or Fold returned it
// (and Follow since), up to date: it reads only the events appended after
// s.LastSeq and applies them as Fold does, an event that does not fit being
// passed over. It returns how many events it read. s is then what Load
// would return now, without reading and folding the log again; `exec
// watch` follows an execution so.
func (e *Engine) Follow(ctx context.Context, s *State) (int, error) {
	const page = 1000
	n := 0
	for {
		evs, err := e.cfg.Store.Events(ctx, s.ID, s.LastSeq, page)
		if err != nil {
			return n, err
		}
		if err := s.Apply(evs...); err != nil {
			return n, err
		}
		n += len(evs)
		if len(evs) < page {
			return n, nil
		}
	}
}

// Apply folds more events of the execution into s, as Fold does: in order,
// numbered from s.LastSeq+1 (a gap is an error), an event that does not fit
// the state it meets being passed over. Fold(id, evs[:k]) then Apply of
// evs[k:] is Fold(id, evs).
func (s *State) Apply(evs ...ripcord.Event) error {
	for _, ev := range evs {
		if err := s.apply(ev); err != nil && !errors.As(err, new(*TransitionError)) {
			return err
		}
	}
	return nil
}
