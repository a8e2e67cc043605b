package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Launch decisions in one DRS target are made one at a time, by every
// process that shares the store: within an engine the quota keeper's mutex
// orders them, and across processes (ripcord serve replicas on one
// PostgreSQL, or a `ripcord run` beside a server on one SQLite file) a
// store mutex named after the target does. A decision reads the target's
// active jobs and launches within what the quotas leave; two processes
// deciding at once would each see the other's jobs missing and together
// overrun the quotas.
//
// The mutex's generation says whether another process launched since this
// engine last held it: then the view's listing is older than that launch,
// and the target is listed again before deciding.

// targetMutexTTL bounds how long a holder that died keeps others waiting.
const targetMutexTTL = 30 * time.Second

// targetKeyer is implemented by DRS clients that can name the DRS endpoint,
// region and role they call (drs.Client): two plans that name one target
// differently share its quotas.
type targetKeyer interface{ TargetKey() string }

func (e *Engine) targetMutexName(target string) string {
	if k, ok := e.cfg.Targets[target].(targetKeyer); ok {
		return "quota:" + k.TargetKey()
	}
	return "quota:" + target
}

// holder names this engine in the store's mutexes: its owner, to the
// microsecond (LeaseOwner.String has seconds, and two engines of one
// process made within a second would hold each other's mutexes).
func (e *Engine) holder() string {
	o := e.cfg.Owner
	return fmt.Sprintf("%s pid %d (started %s)", o.Host, o.PID, ripcord.StoreTime(o.Started).Format(time.RFC3339Nano))
}

// lockTarget takes the target's store mutex for a launch decision, waiting
// (on the engine's clock, with jitter) while another process holds it. It
// returns the release function to call with whether anything was launched.
// The caller holds the quota keeper's mutex.
func (r *run) lockTarget(target string, k *quotaKeeper) (release func(launched bool), err error) {
	cs := r.e.cfg.Store
	name := r.e.targetMutexName(target)
	wait := 50 * time.Millisecond
	var m ripcord.Mutex
	for {
		m, err = cs.AcquireMutex(r.ctx, name, r.e.holder(), targetMutexTTL)
		if err == nil {
			break
		}
		if ripcord.ErrorCode(err) != ripcord.ECONFLICT {
			return nil, fmt.Errorf("take the launch mutex of target %s: %w", target, err)
		}
		// Another process decides in this target now: its decision takes
		// a listing and a StartRecovery or two.
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		if err := r.e.cfg.Clock.Sleep(r.ctx, d); err != nil {
			return nil, err
		}
		wait = min(2*wait, 2*time.Second)
	}
	if k.gen != m.Gen {
		// Another process launched here since this engine last decided:
		// list again so that its jobs count.
		r.e.relist(target)
		r.looked[target] = false
	}
	return func(launched bool) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.e.cfg.MutationTimeout)
		defer cancel()
		out, err := cs.ReleaseMutex(ctx, m, launched)
		if err != nil {
			// It expires on its own; the next decision here lists again.
			r.logger().Warn("releasing a target's launch mutex failed", "target", target, "err", err)
			k.gen = -1
			return
		}
		k.gen = out.Gen
	}, nil
}
