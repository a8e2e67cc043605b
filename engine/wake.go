package engine

import (
	"context"
	"time"
)

// Waking a driver: a control command recorded through this engine (an
// approval, a resume...) wakes the driver this engine runs for the same
// execution, so that it acts at once rather than at its next look. A
// driver in another process sees the command at its next pass.

// wakeChan registers the driver of execution id and returns its channel
// and how to unregister it.
func (e *Engine) wakeChan(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.wakers.Store(id, ch)
	return ch, func() { e.wakers.CompareAndDelete(id, ch) }
}

// wakeUp wakes the driver of execution id this engine runs, if any.
func (e *Engine) wakeUp(id string) {
	if v, ok := e.wakers.Load(id); ok {
		select {
		case v.(chan struct{}) <- struct{}{}:
		default: // woken already
		}
	}
}

// sleep sleeps on the engine's clock until d has passed, ctx is done (an
// error) or the driver is woken (nil).
func (e *Engine) sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) error {
	select {
	case <-wake:
		return nil
	default:
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-wake:
			cancel()
		case <-sctx.Done():
		}
	}()
	err := e.cfg.Clock.Sleep(sctx, d)
	if err != nil && ctx.Err() == nil {
		return nil // woken
	}
	return err
}
