package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ripcord-dr/ripcord"
)

// CreateExecution stores a new execution and its first events, then sends
// a NoteEvents.
func (s *Store) CreateExecution(ctx context.Context, x ripcord.Execution, first []ripcord.Event) error {
	if err := x.Validate(); err != nil {
		return err
	}
	events, err := ripcord.SequenceEvents(x.ID, 0, first)
	if err != nil {
		return err
	}

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM executions WHERE id = ?`, x.ID).Scan(&n); err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	} else if n > 0 {
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("execution %q already exists", x.ID),
			Hint:    "an execution ID is used once; create the execution under a new ID"}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM plan_versions WHERE hash = ?`, x.PlanHash).Scan(&n); err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	} else if n == 0 {
		return s.planVersionNotFound(x.PlanHash)
	}

	// The partial unique index on exclusive refuses a second live
	// execution of the same key, even when another process creates it at
	// the same moment; the refusal is then explained.
	_, err = tx.ExecContext(ctx, `INSERT INTO executions
		(id, plan_name, plan_hash, mode, state, started, ended, actor, last_seq, summary, exclusive)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.PlanName, x.PlanHash, string(x.Mode), string(x.State),
		formatTime(x.Started), formatTimeOrNull(x.Ended), x.Actor, len(events), jsonOrNull(x.Summary), textOrNull(x.Exclusive))
	if isUniqueViolation(err) && x.Exclusive != "" {
		return s.exclusiveRefused(ctx, tx, x.ID, x.Exclusive, err)
	} else if err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	if err := insertEvents(ctx, tx, events); err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create execution %s: %w", x.ID, err)
	}
	s.notes.send(ripcord.Note{Kind: ripcord.NoteEvents, ID: x.ID})
	return nil
}

// Append adds events after seq afterSeq and applies update, atomically,
// then sends a NoteEvents.
func (s *Store) Append(ctx context.Context, execID string, afterSeq int64, epoch int64, events []ripcord.Event, update *ripcord.ExecutionUpdate) (int64, error) {
	events, err := ripcord.SequenceEvents(execID, afterSeq, events)
	if err != nil {
		return 0, err
	}
	if update != nil {
		if err := update.Validate(); err != nil {
			return 0, err
		}
	}
	if epoch < 0 {
		return 0, ripcord.Errorf(ripcord.EINVALID, "append to execution %q: negative lease epoch %d", execID, epoch)
	}
	last := afterSeq + int64(len(events))

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the checks and the write are under one lock
	if err != nil {
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	}
	defer tx.Rollback()

	// The fence, before the seq: a driver whose epoch has moved on
	// records nothing, whatever it last read. Epoch 0 is a writer that
	// drives nothing (a person's control command).
	if epoch > 0 {
		current, err := s.readLease(ctx, tx, execID)
		if err != nil {
			return 0, err
		}
		if current.Epoch != epoch {
			return 0, ripcord.LeaseLost(execID, epoch, current)
		}
	}

	// The guarded write: it moves last_seq only from afterSeq.
	set, args := []string{"last_seq = ?"}, []any{last}
	if update != nil {
		if update.State != nil {
			set, args = append(set, "state = ?"), append(args, string(*update.State))
		}
		if update.Ended != nil {
			set, args = append(set, "ended = ?"), append(args, formatTimeOrNull(*update.Ended))
		}
		if len(update.Summary) > 0 {
			set, args = append(set, "summary = ?"), append(args, string(update.Summary))
		}
	}
	args = append(args, execID, afterSeq)
	res, err := tx.ExecContext(ctx, `UPDATE executions SET `+strings.Join(set, ", ")+` WHERE id = ? AND last_seq = ?`, args...)
	if isUniqueViolation(err) {
		// A terminal execution made live again while another live
		// execution holds its exclusive key.
		var key sql.NullString
		if qerr := tx.QueryRowContext(ctx, `SELECT exclusive FROM executions WHERE id = ?`, execID).Scan(&key); qerr == nil && key.Valid {
			return 0, s.exclusiveRefused(ctx, tx, execID, key.String, err)
		}
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	} else if err != nil {
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	} else if n == 0 {
		return 0, s.appendRefused(ctx, tx, execID, afterSeq)
	}
	if err := insertEvents(ctx, tx, events); err != nil {
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("append to execution %s: %w", execID, err)
	}
	s.notes.send(ripcord.Note{Kind: ripcord.NoteEvents, ID: execID})
	return last, nil
}

// appendRefused says why the guarded update in Append changed no row: the
// execution does not exist, or its last seq is not afterSeq.
func (s *Store) appendRefused(ctx context.Context, tx *sql.Tx, execID string, afterSeq int64) error {
	var current int64
	err := tx.QueryRowContext(ctx, `SELECT last_seq FROM executions WHERE id = ?`, execID).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return s.executionNotFound(execID)
	} else if err != nil {
		return fmt.Errorf("append to execution %s: %w", execID, err)
	}
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("execution %q is at event %d, not %d: another writer appended", execID, current, afterSeq),
		Hint:    fmt.Sprintf("read the events after %d and decide again", afterSeq)}
}

// exclusiveRefused explains a unique violation on the exclusive key: it
// names the live execution that holds key. If none does, the violation was
// something else, and err is returned wrapped.
func (s *Store) exclusiveRefused(ctx context.Context, tx *sql.Tx, execID, key string, err error) error {
	var holder, state string
	qerr := tx.QueryRowContext(ctx, `SELECT id, state FROM executions
		WHERE exclusive = ? AND state IN ('running', 'paused') AND id <> ?`, key, execID).Scan(&holder, &state)
	if qerr != nil {
		return fmt.Errorf("execution %s: %w", execID, errors.Join(err, qerr))
	}
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("execution %q cannot run: execution %q is %s with the same plan and targets (exclusive key %q)", execID, holder, state, key),
		Hint: fmt.Sprintf("resume it (ripcord exec resume %s), cancel it (ripcord exec cancel %s), or run with --allow-concurrent if running both at once is intended",
			holder, holder)}
}

// isUniqueViolation reports whether err is SQLite refusing a duplicate in
// a UNIQUE index.
func isUniqueViolation(err error) bool {
	var se *modernc.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []ripcord.Event) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (execution_id, seq, at, actor, type, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range events {
		_, err := stmt.ExecContext(ctx, e.ExecutionID, e.Seq, formatTime(e.At), e.Actor, e.Type, jsonOrNull(e.Data))
		if err != nil {
			return fmt.Errorf("event %d: %w", e.Seq, err)
		}
	}
	return nil
}

// Events returns the execution's events after afterSeq, at most limit (0:
// all).
func (s *Store) Events(ctx context.Context, execID string, afterSeq int64, limit int) ([]ripcord.Event, error) {
	if afterSeq < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "events of execution %q: negative seq %d", execID, afterSeq)
	} else if limit < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "events of execution %q: negative limit %d", execID, limit)
	}
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	// One read transaction, so that "does it exist" and "its events"
	// are answered from the same snapshot.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("events of execution %s: %w", execID, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM executions WHERE id = ?`, execID).Scan(&n); err != nil {
		return nil, fmt.Errorf("events of execution %s: %w", execID, err)
	} else if n == 0 {
		return nil, s.executionNotFound(execID)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, actor, type, data FROM events
		WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`, execID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("events of execution %s: %w", execID, err)
	}
	defer rows.Close()
	events := []ripcord.Event{}
	for rows.Next() {
		e := ripcord.Event{ExecutionID: execID}
		var at string
		var data sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Type, &data); err != nil {
			return nil, fmt.Errorf("events of execution %s: %w", execID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("events of execution %s: event %d: %w", execID, e.Seq, err)
		}
		e.Data = jsonFrom(data)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of execution %s: %w", execID, err)
	}
	return events, nil
}

const executionColumns = `id, plan_name, plan_hash, mode, state, started, ended, actor, last_seq, summary, exclusive`

// Execution returns the execution with the given ID.
func (s *Store) Execution(ctx context.Context, id string) (ripcord.Execution, error) {
	x, err := scanExecution(s.read.QueryRowContext(ctx, `SELECT `+executionColumns+` FROM executions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Execution{}, s.executionNotFound(id)
	} else if err != nil {
		return ripcord.Execution{}, fmt.Errorf("execution %s: %w", id, err)
	}
	return x, nil
}

// CountExecutions returns how many executions are in each state.
func (s *Store) CountExecutions(ctx context.Context) (map[ripcord.ExecState]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM executions GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count executions: %w", err)
	}
	defer rows.Close()
	out := map[ripcord.ExecState]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count executions: %w", err)
		}
		out[ripcord.ExecState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count executions: %w", err)
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
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.PlanName != "" {
		where, args = append(where, "plan_name = ?"), append(args, f.PlanName)
	}
	q := `SELECT ` + executionColumns + ` FROM executions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started DESC, id DESC LIMIT ?`
	limit := f.Limit
	if limit == 0 {
		limit = -1
	}
	args = append(args, limit)

	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	defer rows.Close()
	list := []ripcord.Execution{}
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		list = append(list, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return list, nil
}

// scanExecution reads a row of executionColumns.
func scanExecution(row interface{ Scan(...any) error }) (ripcord.Execution, error) {
	var x ripcord.Execution
	var mode, state, started string
	var ended, summary, exclusive sql.NullString
	err := row.Scan(&x.ID, &x.PlanName, &x.PlanHash, &mode, &state, &started, &ended, &x.Actor, &x.LastSeq, &summary, &exclusive)
	if err != nil {
		return ripcord.Execution{}, err
	}
	x.Mode, x.State, x.Summary = ripcord.Mode(mode), ripcord.ExecState(state), jsonFrom(summary)
	x.Exclusive = exclusive.String
	if x.Started, err = parseTime(started); err != nil {
		return ripcord.Execution{}, err
	}
	if ended.Valid {
		if x.Ended, err = parseTime(ended.String); err != nil {
			return ripcord.Execution{}, err
		}
	}
	return x, nil
}

func (s *Store) executionNotFound(id string) error {
	return &ripcord.Error{Code: ripcord.ENOTFOUND,
		Message: fmt.Sprintf("execution %q not found", id),
		Hint:    fmt.Sprintf("the database %s has no such execution; `ripcord exec list` shows the ones it has, and --db must name the database the execution ran with", s.path)}
}
