package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// CreateExecution stores a new execution and its first events, and sends a
// NoteEvents when they commit.
func (s *Store) CreateExecution(ctx context.Context, x ripcord.Execution, first []ripcord.Event) error {
	if err := validExecution(x); err != nil {
		return err
	}
	events, err := sequenceEvents(x.ID, 0, first)
	if err != nil {
		return err
	}
	return s.insertExecution(ctx, x, events, false)
}

// insertExecution inserts x (its state, ended and summary as given, its
// last seq that of events) with its events in one transaction and, unless
// imported, sends a NoteEvents on commit. The primary key refuses a taken ID,
// the foreign key an unknown plan version, the partial unique index a
// second live execution with x's exclusive key: each is explained.
func (s *Store) insertExecution(ctx context.Context, x ripcord.Execution, events []ripcord.Event, imported bool) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	defer rollback(tx)

	b := &pgx.Batch{}
	b.Queue(`INSERT INTO executions
		(id, plan_name, plan_hash, mode, state, started, ended, actor, last_seq, summary, exclusive)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		x.ID, x.PlanName, x.PlanHash, string(x.Mode), string(x.State), ripcord.StoreTime(x.Started),
		timeOrNull(x.Ended), x.Actor, int64(len(events)), textOrNull(string(x.Summary)), textOrNull(x.Exclusive))
	queueEvents(b, x.ID, events)
	if !imported {
		s.queueNote(b, ripcord.Note{Kind: ripcord.NoteEvents, ID: x.ID})
	}
	err = runBatch(tx.SendBatch(ctx, b), b.Len())
	switch {
	case constraintViolated(err, "executions_pkey") && imported:
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("execution %q already exists in %s", x.ID, s.where),
			Hint:    "import into an empty database: a copy is not merged into a store in use"}
	case constraintViolated(err, "executions_pkey"):
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("execution %q already exists", x.ID),
			Hint:    "an execution ID is used once; create the execution under a new ID"}
	case constraintViolated(err, "executions_plan_hash_fkey"):
		return s.planVersionNotFound(x.PlanHash)
	case constraintViolated(err, "executions_exclusive_live"):
		rollback(tx)
		return s.exclusiveRefused(ctx, x.ID, x.Exclusive, err)
	case err != nil:
		return wrap("create execution "+x.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	return nil
}

// validExecution is x.Validate, and text PostgreSQL can keep.
func validExecution(x ripcord.Execution) error {
	if err := x.Validate(); err != nil {
		return err
	}
	err := checkTexts("ID", x.ID, "plan name", x.PlanName, "plan hash", x.PlanHash, "actor", x.Actor,
		"exclusive key", x.Exclusive, "summary", string(x.Summary))
	if err != nil {
		return ripcord.Errorf(ripcord.EINVALID, "execution %q: %v", x.ID, err)
	}
	return nil
}

// sequenceEvents is ripcord.SequenceEvents, and text PostgreSQL can keep:
// JSON that is valid may still hold bytes that are not UTF-8.
func sequenceEvents(execID string, afterSeq int64, events []ripcord.Event) ([]ripcord.Event, error) {
	out, err := ripcord.SequenceEvents(execID, afterSeq, events)
	if err != nil {
		return nil, err
	}
	if err := checkText("execution ID", execID); err != nil {
		return nil, ripcord.Errorf(ripcord.EINVALID, "events of execution %q: %v", execID, err)
	}
	for _, e := range out {
		if err := checkTexts("type", e.Type, "actor", e.Actor, "data", string(e.Data)); err != nil {
			return nil, ripcord.Errorf(ripcord.EINVALID, "execution %q: event %d (%s): %v", execID, e.Seq, e.Type, err)
		}
	}
	return out, nil
}

// queueEvents queues the insert of events, numbered already, as one
// statement: the gapless trigger sees each row after the ones before it.
func queueEvents(b *pgx.Batch, execID string, events []ripcord.Event) {
	seqs := make([]int64, len(events))
	ats := make([]time.Time, len(events))
	actors := make([]string, len(events))
	types := make([]string, len(events))
	data := make([]string, len(events))
	for i, e := range events {
		seqs[i], ats[i], actors[i], types[i], data[i] = e.Seq, ripcord.StoreTime(e.At), e.Actor, e.Type, string(e.Data)
	}
	b.Queue(`INSERT INTO events (execution_id, seq, at, actor, type, data)
		SELECT $1, u.seq, u.at, u.actor, u.type, nullif(u.data, '')
		FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) AS u (seq, at, actor, type, data)
		ORDER BY u.seq`,
		execID, seqs, ats, actors, types, data)
}

// runBatch runs the n statements of a batch in order and closes it,
// returning the first error.
func runBatch(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// Append adds events after seq afterSeq and applies update, atomically,
// and sends a NoteEvents when they commit.
func (s *Store) Append(ctx context.Context, execID string, afterSeq int64, epoch int64, events []ripcord.Event, update *ripcord.ExecutionUpdate) (int64, error) {
	events, err := sequenceEvents(execID, afterSeq, events)
	if err != nil {
		return 0, err
	}
	if update != nil {
		if err := update.Validate(); err != nil {
			return 0, err
		}
		if !utf8.Valid(update.Summary) {
			return 0, ripcord.Errorf(ripcord.EINVALID, "execution update: summary: the summary is not valid UTF-8")
		}
	}
	if epoch < 0 {
		return 0, ripcord.Errorf(ripcord.EINVALID, "append to execution %q: negative lease epoch %d", execID, epoch)
	}
	last := afterSeq + int64(len(events))
	what := "append to execution " + execID

	tx, err := s.beginPipe(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer tx.end()

	// The execution's row lock queues this append behind every other
	// writer of the execution; the lease is read by a later statement,
	// which sees what they committed.
	current, lease, _, err := s.lockExecution(ctx, tx, execID, epoch > 0)
	if err != nil {
		return 0, err
	}
	// The fence, before the seq: a driver whose epoch has moved on
	// records nothing, whatever it last read. Epoch 0 is a writer that
	// drives nothing (a person's control command).
	if epoch > 0 && lease.Epoch != epoch {
		return 0, ripcord.LeaseLost(execID, epoch, lease)
	}
	if current != afterSeq {
		return 0, &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("execution %q is at event %d, not %d: another writer appended", execID, current, afterSeq),
			Hint:    fmt.Sprintf("read the events after %d and decide again", afterSeq)}
	}

	set, args := []string{"last_seq = $3"}, []any{execID, afterSeq, last}
	if update != nil {
		if update.State != nil {
			args = append(args, string(*update.State))
			set = append(set, fmt.Sprintf("state = $%d", len(args)))
		}
		if update.Ended != nil {
			args = append(args, timeOrNull(*update.Ended))
			set = append(set, fmt.Sprintf("ended = $%d", len(args)))
		}
		if len(update.Summary) > 0 {
			args = append(args, string(update.Summary))
			set = append(set, fmt.Sprintf("summary = $%d", len(args)))
		}
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE executions SET `+strings.Join(set, ", ")+` WHERE id = $1 AND last_seq = $2`, args...)
	queueEvents(b, execID, events)
	s.queueNote(b, ripcord.Note{Kind: ripcord.NoteEvents, ID: execID})
	// The lock holds since the first batch, and last_seq was checked
	// under it: the UPDATE changes the row, and COMMIT can follow in
	// the same round trip.
	err = tx.commit(ctx, b)
	if constraintViolated(err, "executions_exclusive_live") {
		// A terminal execution made live again while another live
		// execution holds its exclusive key.
		tx.end()
		var key *string
		if qerr := s.pool.QueryRow(ctx, `SELECT exclusive FROM executions WHERE id = $1`, execID).Scan(&key); qerr == nil && key != nil {
			return 0, s.exclusiveRefused(ctx, execID, *key, err)
		}
		return 0, wrap(what, err)
	} else if err != nil {
		return 0, wrap(what, err)
	}
	return last, nil
}

// lockExecution locks execution execID's row for the rest of tx and
// returns its last seq and, with withLease, its lease as committed once
// the lock is held and the store's time then; ENOTFOUND if it does not
// exist.
func (s *Store) lockExecution(ctx context.Context, tx batcher, execID string, withLease bool) (lastSeq int64, l ripcord.Lease, now time.Time, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT last_seq FROM executions WHERE id = $1 FOR NO KEY UPDATE`, execID)
	if withLease {
		// A statement of its own, after the lock: it sees what the
		// writer before this one committed, and reads the clock then.
		b.Queue(leaseQuery, execID, s.clockArg())
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	err = br.QueryRow().Scan(&lastSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, l, now, s.executionNotFound(execID)
	} else if err != nil {
		return 0, l, now, wrap("execution "+execID, err)
	}
	if withLease {
		if l, now, err = scanLease(br.QueryRow(), execID); err != nil {
			return 0, l, now, wrap("lease of execution "+execID, err)
		}
	}
	return lastSeq, l, now, br.Close()
}

// exclusiveRefused explains a unique violation on the exclusive key: it
// names the live execution that holds key. It runs after the refused
// transaction, so that holder may have ended since: then the refusal says
// so without a name.
func (s *Store) exclusiveRefused(ctx context.Context, execID, key string, err error) error {
	hint := "resume it (ripcord exec resume ID), cancel it (ripcord exec cancel ID), or run with --allow-concurrent if running both at once is intended"
	var holder, state string
	qerr := s.pool.QueryRow(ctx, `SELECT id, state FROM executions
		WHERE exclusive = $1 AND state IN ('running', 'paused') AND id <> $2`, key, execID).Scan(&holder, &state)
	if errors.Is(qerr, pgx.ErrNoRows) {
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("execution %q cannot run: another live execution had the same plan and targets (exclusive key %q)", execID, key),
			Hint:    "`ripcord exec list` shows it; " + hint}
	} else if qerr != nil {
		return fmt.Errorf("execution %s: %w", execID, errors.Join(err, qerr))
	}
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("execution %q cannot run: execution %q is %s with the same plan and targets (exclusive key %q)", execID, holder, state, key),
		Hint: fmt.Sprintf("resume it (ripcord exec resume %s), cancel it (ripcord exec cancel %s), or run with --allow-concurrent if running both at once is intended",
			holder, holder)}
}

// Events returns the execution's events after afterSeq, at most limit (0:
// all).
func (s *Store) Events(ctx context.Context, execID string, afterSeq int64, limit int) ([]ripcord.Event, error) {
	if afterSeq < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "events of execution %q: negative seq %d", execID, afterSeq)
	} else if limit < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "events of execution %q: negative limit %d", execID, limit)
	}
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	// One statement, so that "does it exist" and "its events" are
	// answered from the same snapshot: an execution without events
	// after afterSeq is one row of NULLs.
	rows, err := s.pool.Query(ctx, `SELECT e.seq, e.at, e.actor, e.type, e.data
		FROM executions x LEFT JOIN LATERAL (
			SELECT seq, at, actor, type, data FROM events
			WHERE execution_id = x.id AND seq > $2 ORDER BY seq LIMIT $3
		) e ON true
		WHERE x.id = $1 ORDER BY e.seq`, execID, afterSeq, lim)
	if err != nil {
		return nil, wrap("events of execution "+execID, err)
	}
	defer rows.Close()
	events, found := []ripcord.Event{}, false
	for rows.Next() {
		found = true
		var seq *int64
		var at *time.Time
		var actor, typ, data *string
		if err := rows.Scan(&seq, &at, &actor, &typ, &data); err != nil {
			return nil, wrap("events of execution "+execID, err)
		}
		if seq == nil {
			continue // no events after afterSeq
		}
		events = append(events, ripcord.Event{ExecutionID: execID, Seq: *seq, At: utcOrZero(at),
			Actor: textFrom(actor), Type: textFrom(typ), Data: jsonFrom(data)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("events of execution "+execID, err)
	}
	if !found {
		return nil, s.executionNotFound(execID)
	}
	return events, nil
}

const executionColumns = `id, plan_name, plan_hash, mode, state, started, ended, actor, last_seq, summary, exclusive`

// Execution returns the execution with the given ID.
func (s *Store) Execution(ctx context.Context, id string) (ripcord.Execution, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+executionColumns+` FROM executions WHERE id = $1`, id)
	if err != nil {
		return ripcord.Execution{}, wrap("execution "+id, err)
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanExecution)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Execution{}, s.executionNotFound(id)
	} else if err != nil {
		return ripcord.Execution{}, wrap("execution "+id, err)
	}
	return x, nil
}

// CountExecutions returns how many executions are in each state.
func (s *Store) CountExecutions(ctx context.Context) (map[ripcord.ExecState]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM executions GROUP BY state`)
	if err != nil {
		return nil, wrap("count executions", err)
	}
	defer rows.Close()
	out := map[ripcord.ExecState]int{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, wrap("count executions", err)
		}
		out[ripcord.ExecState(state)] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("count executions", err)
	}
	return out, nil
}

// ListExecutions returns the executions f selects, newest first.
func (s *Store) ListExecutions(ctx context.Context, f ripcord.ExecutionFilter) ([]ripcord.Execution, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.State != "" {
		args = append(args, string(f.State))
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.PlanName != "" {
		args = append(args, f.PlanName)
		where = append(where, fmt.Sprintf("plan_name = $%d", len(args)))
	}
	q := `SELECT ` + executionColumns + ` FROM executions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started DESC, id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list executions", err)
	}
	list, err := pgx.CollectRows(rows, scanExecution)
	if err != nil {
		return nil, wrap("list executions", err)
	}
	if list == nil {
		list = []ripcord.Execution{}
	}
	return list, nil
}

// scanExecution reads a row of executionColumns.
func scanExecution(row pgx.CollectableRow) (ripcord.Execution, error) {
	var x ripcord.Execution
	var mode, state string
	var ended *time.Time
	var summary, exclusive *string
	err := row.Scan(&x.ID, &x.PlanName, &x.PlanHash, &mode, &state, &x.Started, &ended, &x.Actor, &x.LastSeq, &summary, &exclusive)
	if err != nil {
		return ripcord.Execution{}, err
	}
	x.Mode, x.State, x.Summary, x.Exclusive = ripcord.Mode(mode), ripcord.ExecState(state), jsonFrom(summary), textFrom(exclusive)
	x.Started, x.Ended = utc(x.Started), utcOrZero(ended)
	return x, nil
}

func (s *Store) executionNotFound(id string) error {
	return &ripcord.Error{Code: ripcord.ENOTFOUND,
		Message: fmt.Sprintf("execution %q not found", id),
		Hint:    fmt.Sprintf("the database %s has no such execution; `ripcord exec list` shows the ones it has, and --db must name the database the execution ran with", s.where)}
}
