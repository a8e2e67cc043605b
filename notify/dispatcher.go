package notify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// Clock is the time a Dispatcher waits on between attempts (engine.Clock
// satisfies it): tests pass one that does not wait.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Config configures a Dispatcher. Store and Holder are required.
type Config struct {
	Store ripcord.Store
	// Holder names this process in delivery claims (its replica ID).
	Holder string
	// PublicURL is where people reach ripcord serve (--public-url), for
	// links in messages; empty: no links.
	PublicURL string
	// SNS builds the sender of an SNS topic with a target's credentials
	// (cmd/ripcord: drs.LoadAWSConfig and NewSNS). Nil: SNS deliveries fail.
	SNS func(ctx context.Context, t ripcord.Target, topicARN string) (Sender, error)
	// HTTPClient posts webhooks; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
	Clock      Clock        // nil: the wall clock
	Logger     *slog.Logger // nil: discard
	// Attempts is how many times a notification is tried (default 6);
	// between two, an exponential backoff with jitter (the AWS SDK's,
	// 1 s doubling, capped at MaxBackoff, default 5 min).
	Attempts   int
	MaxBackoff time.Duration
	// ClaimTTL is how long a claim lasts without an attempt recorded
	// (default 2 min, plus the wait before the next attempt): a replica
	// that dies leaves its deliveries to another after that.
	ClaimTTL time.Duration
	// Poll is how often every execution is read again besides the
	// store's notes (default 30 s).
	Poll time.Duration
	// Since: events before it are not notified (a first start on an old
	// store must not replay history). Zero: an hour before Run starts.
	Since time.Time
	// Recorded, if set, is called after each delivery ends (sent or
	// failed) as recorded: for tests.
	Recorded func(ripcord.Delivery)
}

// Dispatcher follows executions and delivers their notifications.
type Dispatcher struct {
	cfg     Config
	backoff *retry.ExponentialJitterBackoff
	follows map[string]*follow // by execution ID; only Run's goroutine
	wg      sync.WaitGroup     // deliveries in flight

	mu      sync.Mutex
	senders map[string]Sender // SNS senders by target and topic
	secret  []byte            // the store's server secret, once read
	closed  bool              // Run ended: no delivery starts (wg is waited on)
}

// follow is what the dispatcher knows of one execution: its state folded
// up to the last event read.
type follow struct{ s *engine.State }

// New returns a Dispatcher; Run starts it.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil || cfg.Holder == "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "notify: a dispatcher needs a store and a holder",
			Hint: "pass the store and this replica's ID"}
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 6
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	return &Dispatcher{cfg: cfg, backoff: retry.NewExponentialJitterBackoff(cfg.MaxBackoff),
		follows: map[string]*follow{}, senders: map[string]Sender{}}, nil
}

// Run follows the store's executions until ctx ends, then waits for the
// deliveries in flight (which end with ctx too, recorded as they stand).
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.cfg.Since.IsZero() {
		d.cfg.Since = d.cfg.Clock.Now().Add(-time.Hour)
	}
	defer func() {
		d.mu.Lock()
		d.closed = true // a late NotifyReadiness or NotifyNotStarted starts nothing
		d.mu.Unlock()
		d.wg.Wait()
	}()
	notes, err := d.cfg.Store.Subscribe(ctx)
	if err != nil {
		d.cfg.Logger.Warn("notifications: the store's notes are not available; executions are read every poll", "error", err)
	}
	d.scan(ctx)
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			d.scan(ctx)
		case n, ok := <-notes:
			switch {
			case !ok:
				notes = nil // closed: the poll goes on
			case n.Kind == ripcord.NoteEvents:
				d.follow(ctx, n.ID)
			case n.Kind == ripcord.NoteResync:
				d.scan(ctx)
			}
		}
	}
}

// scan reads every execution whose log grew since it was last read.
func (d *Dispatcher) scan(ctx context.Context) {
	execs, err := d.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil {
		d.cfg.Logger.Warn("notifications: listing executions failed", "error", err)
		return
	}
	for _, x := range execs {
		f := d.follows[x.ID]
		if f == nil && x.State.Terminal() && x.Ended.Before(d.cfg.Since.Add(-24*time.Hour)) {
			continue // long over before we started: nothing to tell
		}
		if f == nil || x.LastSeq > f.s.LastSeq {
			d.follow(ctx, x.ID)
		}
	}
}

// follow reads execution id's new events and delivers their notices.
func (d *Dispatcher) follow(ctx context.Context, id string) {
	f := d.follows[id]
	if f == nil {
		f = &follow{s: engine.NewState(id)}
		d.follows[id] = f
	}
	evs, err := d.cfg.Store.Events(ctx, id, f.s.LastSeq, 0)
	if err != nil {
		d.cfg.Logger.Warn("notifications: reading an execution's events failed", "execution", id, "error", err)
		return
	}
	for _, ev := range evs {
		n, ok, err := f.s.ApplyNotice(ev)
		if err != nil {
			d.cfg.Logger.Warn("notifications: an event could not be read", "execution", id, "seq", ev.Seq, "error", err)
			f.s.LastSeq = ev.Seq
			continue
		}
		if !ok || ev.At.Before(d.cfg.Since) {
			continue
		}
		spec := f.s.Spec
		m := Message{Version: Version, ID: fmt.Sprintf("%s/%d", id, ev.Seq), Kind: n.Kind, Plan: spec.Plan, ExecutionID: id,
			Mode: spec.Mode, Verdict: n.Verdict, Step: n.Step, Reason: n.Reason, Time: ev.At.UTC()}
		m.Links(d.cfg.PublicURL)
		if n.ApprovalSeq != 0 {
			m.Approvers = n.Approvers
			m.ApprovalLinks(d.cfg.PublicURL, d.approvalToken(ctx, ripcord.ApprovalLink{Execution: id, Step: n.Step, Seq: n.ApprovalSeq}))
		}
		for _, dest := range spec.Settings.Notify {
			if dest.Wants(n.Kind) {
				d.start(ctx, ripcord.Delivery{ExecutionID: id, Seq: ev.Seq, Destination: DestinationKey(dest), Kind: n.Kind},
					dest, spec.Targets, m)
			}
		}
	}
}

// NotifyReadiness tells plan's destinations that want readiness that its
// readiness is bad: findings holds at least one blocking finding (the
// caller, the readiness checker, passes every finding; only the blocking
// ones are sent). A bad state is the set of blocking findings (check and
// resource) on a UTC day: each replica that checks the plan finds the same
// state and the store lets one of them deliver it, so a state is notified
// once, and a state that lasts is notified again each day. Nothing is sent
// without a blocking finding.
func (d *Dispatcher) NotifyReadiness(ctx context.Context, plan ripcord.Plan, targets []ripcord.Target, findings []ripcord.Finding, at time.Time) {
	var keys []string
	var bad []Finding
	for _, f := range findings {
		if f.Severity != ripcord.SeverityBlocking {
			continue
		}
		keys = append(keys, f.Check+"|"+f.Resource.String())
		bad = append(bad, Finding{Severity: string(f.Severity), Resource: f.Resource.String(), Message: f.Message, Remedy: f.Remedy})
	}
	if len(bad) == 0 {
		return
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(plan.Name + "\n" + at.UTC().Format("2006-01-02") + "\n" + strings.Join(keys, "\n")))
	state := int64(binary.BigEndian.Uint64(sum[:8]) >> 1) // a positive seq
	m := Message{Version: Version, ID: fmt.Sprintf("readiness:%s/%x", plan.Name, sum[:8]), Kind: ripcord.NotifyReadiness,
		Plan: plan.Name, Verdict: "bad", Findings: bad, Time: at.UTC()}
	for _, dest := range plan.Settings.Notify {
		if dest.Wants(ripcord.NotifyReadiness) {
			d.start(ctx, ripcord.Delivery{ExecutionID: "readiness:" + plan.Name, Seq: state, Destination: DestinationKey(dest),
				Kind: ripcord.NotifyReadiness}, dest, targets, m)
		}
	}
}

// NotifyNotStarted tells plan's destinations that want started or
// finished notifications that its scheduled drill for slot (execution ID
// id, which the slot decides) could not start, with why (err, and its
// hint when it is a ripcord.Error): a drill that did not happen is a
// verdict too. Each replica that fails to start the slot finds the same
// delivery (whatever the words of its error), and the store lets one of
// them send it: a slot is notified once, with the first reason. The
// caller leaves out a start that only waits (the plan's other execution
// is live).
func (d *Dispatcher) NotifyNotStarted(ctx context.Context, plan ripcord.Plan, targets []ripcord.Target, id string, slot time.Time, err error, at time.Time) {
	reason := err.Error()
	var re *ripcord.Error
	if errors.As(err, &re) && re.Hint != "" {
		reason += "; " + re.Hint
	}
	sum := sha256.Sum256([]byte(id + "\nnot started"))
	seq := int64(binary.BigEndian.Uint64(sum[:8]) >> 1) // a positive seq
	m := Message{Version: Version, ID: fmt.Sprintf("%s/not-started", id), Kind: ripcord.NotifyFinished,
		Plan: plan.Name, ExecutionID: id, Mode: ripcord.ModeDrill, Verdict: VerdictNotStarted,
		Reason: fmt.Sprintf("the drill scheduled for %s could not start: %s", slot.UTC().Format(time.RFC3339), reason), Time: at.UTC()}
	if d.cfg.PublicURL != "" {
		m.URL = strings.TrimRight(d.cfg.PublicURL, "/") + "/console/plans/" + url.PathEscape(plan.Name)
	}
	for _, dest := range plan.Settings.Notify {
		if dest.Wants(ripcord.NotifyStarted) || dest.Wants(ripcord.NotifyFinished) {
			d.start(ctx, ripcord.Delivery{ExecutionID: id, Seq: seq, Destination: DestinationKey(dest),
				Kind: ripcord.NotifyFinished}, dest, targets, m)
		}
	}
}

// VerdictNotStarted is the verdict of a finished notification for a
// scheduled drill that could not start (NotifyNotStarted).
const VerdictNotStarted = "not started"

// start delivers in the background: a slow receiver holds up nothing.
func (d *Dispatcher) start(ctx context.Context, del ripcord.Delivery, dest ripcord.Notification, targets []ripcord.Target, m Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || ctx.Err() != nil {
		return // stopping: the next start of a replica delivers what is owed
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.deliver(ctx, del, dest, targets, m)
	}()
}

// deliver claims del and, if this process holds it, tries until sent, a
// permanent failure or the last attempt, recording each attempt.
func (d *Dispatcher) deliver(ctx context.Context, del ripcord.Delivery, dest ripcord.Notification, targets []ripcord.Target, m Message) {
	log := d.cfg.Logger.With("execution", del.ExecutionID, "seq", del.Seq, "destination", del.Destination, "kind", del.Kind)
	cur, mine, err := d.cfg.Store.ClaimDelivery(ctx, del, d.cfg.Holder, d.cfg.ClaimTTL)
	if err != nil {
		log.Warn("notification: claiming the delivery failed", "error", err)
		return
	}
	if !mine {
		return // sent, failed, or another replica's
	}
	sender, err := d.sender(ctx, dest, targets)
	for {
		if err == nil {
			err = sender.Send(ctx, m)
		}
		if ctx.Err() != nil {
			return // stopping: the claim expires and another replica (or the next start) goes on
		}
		cur.Attempts++
		cur.Status, cur.LastError = ripcord.DeliverySent, ""
		var wait time.Duration
		if err != nil {
			cur.Status, cur.LastError = ripcord.DeliveryFailed, clip(err.Error())
			if !errors.Is(err, ErrPermanent) && cur.Attempts < d.cfg.Attempts {
				cur.Status = ripcord.DeliverySending
				wait, _ = d.backoff.BackoffDelay(cur.Attempts, err)
			}
		}
		rec, rerr := d.cfg.Store.RecordDelivery(ctx, cur, d.cfg.ClaimTTL+wait)
		if rerr != nil {
			log.Warn("notification: recording the attempt failed", "error", rerr)
			return
		}
		cur = rec
		if cur.Status != ripcord.DeliverySending {
			if cur.Status == ripcord.DeliveryFailed {
				log.Warn("notification failed", "attempts", cur.Attempts, "error", cur.LastError)
			}
			if d.cfg.Recorded != nil {
				d.cfg.Recorded(cur)
			}
			return
		}
		log.Info("notification attempt failed; retrying", "attempts", cur.Attempts, "wait", wait, "error", cur.LastError)
		if d.cfg.Clock.Sleep(ctx, wait) != nil {
			return
		}
		err = nil
		if sender == nil {
			sender, err = d.sender(ctx, dest, targets)
		}
	}
}

// sender returns the sender of destination dest.
func (d *Dispatcher) sender(ctx context.Context, dest ripcord.Notification, targets []ripcord.Target) (Sender, error) {
	if dest.Webhook != "" {
		return Webhook{URL: dest.Webhook, Slack: dest.Format == "slack", Client: d.cfg.HTTPClient}, nil
	}
	var target *ripcord.Target
	for i := range targets {
		if targets[i].Name == dest.Target || (dest.Target == "" && len(targets) == 1) {
			target = &targets[i]
		}
	}
	if target == nil {
		return nil, permanentError{fmt.Errorf("sns %s: target %q is not among the execution's targets", dest.SNS, dest.Target)}
	}
	if d.cfg.SNS == nil {
		return nil, permanentError{fmt.Errorf("sns %s: this process cannot publish to SNS", dest.SNS)}
	}
	key := target.Name + "\x00" + dest.SNS
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.senders[key]; s != nil {
		return s, nil
	}
	s, err := d.cfg.SNS(ctx, *target, dest.SNS)
	if err != nil {
		return nil, fmt.Errorf("sns %s with target %s: %w", dest.SNS, target.Name, err)
	}
	d.senders[key] = s
	return s, nil
}

// clip keeps an error short and valid UTF-8 for the store.
func clip(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	if len(s) > 1000 {
		s = s[:1000]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// approvalToken signs link with the store's server secret, for a waiting
// approval's message; "" (the message goes without approval links, and
// says so in the log) when there is no public URL or no secret.
func (d *Dispatcher) approvalToken(ctx context.Context, link ripcord.ApprovalLink) string {
	if d.cfg.PublicURL == "" {
		return ""
	}
	d.mu.Lock()
	secret := d.secret
	d.mu.Unlock()
	if secret == nil {
		var err error
		if secret, err = d.cfg.Store.ServerSecret(ctx); err != nil {
			d.cfg.Logger.Warn("notifications: no server secret; the approval notification goes without its links",
				"execution", link.Execution, "step", link.Step, "error", err)
			return ""
		}
		d.mu.Lock()
		d.secret = secret
		d.mu.Unlock()
	}
	return link.Sign(secret)
}
