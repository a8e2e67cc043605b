package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// driveOpts are how run, exec resume and cleanup drive an execution.
type driveOpts struct {
	JSON bool
	// Wait, when another process drives the execution, waits for its
	// lease to end instead of refusing (exec resume --wait).
	Wait bool
}

// drive takes the execution's lease, runs it until it ends, pauses or is
// stopped, prints the summary and returns the outcome as the command's
// error (exit status). The first Ctrl-C (ctx done) is a soft stop: the DRS
// call in flight finishes and is recorded, then drive says how to resume; a
// second one ends the process at once (main says so and restores the
// default handling).
func drive(ctx context.Context, out, errOut io.Writer, store ripcord.Store, eng *engine.Engine, id string, opts driveOpts) error {
	var waitingFor int64
	for {
		s, err := eng.Run(ctx, id)
		var held *engine.LeaseHeldError
		if errors.As(err, &held) {
			if !opts.Wait {
				return &exitError{code: 2, msg: held.Error(), hint: ripcord.ErrorHint(err)}
			}
			if held.Lease.Epoch != waitingFor {
				waitingFor = held.Lease.Epoch
				fmt.Fprintf(errOut, "waiting: %s\n", held)
			}
			if err := waitLease(ctx, store, id, held.Lease, processGone, engine.RealClock{}); err != nil {
				return &exitError{code: exitInterrupted, msg: "stopped while waiting for execution " + id + "'s lease"}
			}
			continue
		}
		if errors.Is(err, engine.ErrStopped) {
			msg := fmt.Sprintf("stopped: execution %s is left %s and resumable: ripcord exec resume %s", id, s.State, id)
			if c := s.Cleanup; s.Spec.Mode == ripcord.ModeDrill && !c.Done && (c.Requested || !c.Due.IsZero() || c.After > 0) {
				when := "when the drill ends"
				if !c.Due.IsZero() {
					when = "at " + c.Due.UTC().Format(time.RFC3339)
				}
				msg += fmt.Sprintf("; the drill's cleanup stays scheduled (%s) and ripcord exec resume %s carries it out", when, id)
			}
			return &exitError{code: exitInterrupted, msg: msg}
		}
		if err != nil {
			var lost *engine.LostLeaseError
			if errors.As(err, &lost) {
				return &exitError{code: 1, msg: err.Error(), hint: "another process drives execution " + id + " now; follow it with: ripcord exec watch " + id}
			}
			if ripcord.ErrorCode(err) == ripcord.EINVALID {
				return err
			}
			return fmt.Errorf("execution %s: %w (the execution is kept; take it up with: ripcord exec resume %s)", id, err, id)
		}
		if err := printSummary(out, summarize(ctx, store, s), opts.JSON); err != nil {
			return err
		}
		return outcomeError(s)
	}
}

// waitLease waits until held, another driver's lease of execution id, may be free: it has
// expired or was released, was taken over (Run then says by whom), or its
// holder's process is gone. It reads the lease, which is cheap, instead of
// trying Run again, which folds the execution's whole log each time.
// Whether it is free is still Run's to find out (on the store's clock).
func waitLease(ctx context.Context, store ripcord.Store, id string, held ripcord.Lease, gone func(ripcord.LeaseOwner) bool, clock engine.Clock) error {
	for {
		d := min(max(held.Expires.Sub(clock.Now()), 100*time.Millisecond), 2*time.Second)
		if err := clock.Sleep(ctx, d); err != nil {
			return err
		}
		l, err := store.Lease(ctx, id)
		if err != nil || l.Epoch != held.Epoch || !l.Live(clock.Now()) || gone(l.Owner) {
			return nil // Run decides (and reports an error of the store)
		}
		held = l // renewed
	}
}
