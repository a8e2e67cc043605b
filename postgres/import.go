package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// The importer moves another store (an SQLite file, for `ripcord store
// copy`) into this one without loss: what the Store methods would set
// (Created of tokens, audit seqs and times, an execution's seqs) is kept
// as given, and the schema's guards still hold (events and the audit log
// gapless, one live execution per exclusive key). Importing sends no
// notes: nothing runs on a store being filled.

// ImportPlanVersion saves v as given. A version with its hash that is
// saved already must be the same (name, source and creation time): then
// nothing is done, so that a copy can be run again; another one is
// ECONFLICT.
func (s *Store) ImportPlanVersion(ctx context.Context, v ripcord.PlanVersion) error {
	if err := validPlanVersion(v); err != nil {
		return withHint(err, "import a plan version as the source store returns it")
	}
	created := ripcord.StoreTime(v.Created)
	var got ripcord.PlanVersion
	err := s.pool.QueryRow(ctx, `WITH i AS (
			INSERT INTO plan_versions (hash, name, source, created) VALUES ($1, $2, $3, $4)
			ON CONFLICT (hash) DO NOTHING RETURNING name, source, created
		)
		SELECT name, source, created FROM i
		UNION ALL
		SELECT name, source, created FROM plan_versions WHERE hash = $1 AND NOT EXISTS (SELECT 1 FROM i)`,
		v.Hash, v.Name, v.Source, created).Scan(&got.Name, &got.Source, &got.Created)
	if err != nil {
		return wrap("import plan version "+v.Hash, err)
	}
	if got.Name != v.Name || !bytes.Equal(got.Source, v.Source) || !got.Created.Equal(created) {
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("plan version %s: %s has another version under this hash (plan %q, created %s)", v.Hash, s.where, got.Name, utc(got.Created)),
			Hint:    "import into an empty database"}
	}
	return nil
}

// ImportExecution stores x and its events as given: state, ended,
// summary, exclusive key, the events' seqs (1, 2, ... or left zero) and
// times. x.LastSeq, if set, must be the number of events. The lease is not
// copied: the execution was never leased here. An ID that is taken is
// ECONFLICT, and so is a live execution whose exclusive key a live one
// here holds; an unknown plan version is ENOTFOUND (import it first).
func (s *Store) ImportExecution(ctx context.Context, x ripcord.Execution, events []ripcord.Event) error {
	const hint = "import an execution as the source store returns it: the execution, and all its events from seq 1"
	if err := validExecution(x); err != nil {
		return withHint(err, hint)
	}
	if x.LastSeq != 0 && x.LastSeq != int64(len(events)) {
		return &ripcord.Error{Code: ripcord.EINVALID, Hint: hint,
			Message: fmt.Sprintf("import execution %q: its last seq is %d but %d events are given", x.ID, x.LastSeq, len(events))}
	}
	evs, err := sequenceEvents(x.ID, 0, events)
	if err != nil {
		return withHint(err, hint)
	}
	return s.insertExecution(ctx, x, evs, true)
}

// ImportToken stores t as given: its hash, role, creation, expiry and
// revocation times. A taken ID or hash is ECONFLICT.
func (s *Store) ImportToken(ctx context.Context, t ripcord.Token) error {
	if err := t.Validate(true); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (id, name, role, hash, created, expires, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.Name, string(t.Role), t.Hash, ripcord.StoreTime(t.Created), timeOrNull(t.Expires), timeOrNull(t.Revoked))
	return s.tokenInsertError(t.ID, err)
}

// ImportAudit appends e with its Seq and At as given. The log stays
// gapless: e.Seq must follow the last entry, so a log is imported in seq
// order into an empty one (ECONFLICT otherwise, naming the last entry).
func (s *Store) ImportAudit(ctx context.Context, e ripcord.AuditEntry) error {
	const hint = "import the audit entries as the source store lists them, with their seqs and times"
	if err := validAudit(e); err != nil {
		return withHint(err, hint)
	}
	if e.Seq < 1 {
		return &ripcord.Error{Code: ripcord.EINVALID, Hint: hint,
			Message: fmt.Sprintf("import audit entry %q: seq %d is not an entry's", e.Action, e.Seq)}
	}
	if err := checkTime(e.At, "entry"); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Hint: hint,
			Message: fmt.Sprintf("import audit entry %d: %v", e.Seq, err)}
	}
	what := fmt.Sprintf("import audit entry %d", e.Seq)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "ripcord audit "+s.schema)
	b.Queue(`INSERT INTO audit (seq, at, actor, action, object, remote, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.Seq, ripcord.StoreTime(e.At), e.Actor, e.Action, e.Object, e.Remote, e.Detail)
	err = runBatch(tx.SendBatch(ctx, b), b.Len())
	if constraintViolated(err, "audit_gapless") {
		rollback(tx)
		var last int64
		if qerr := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit`).Scan(&last); qerr != nil {
			return wrap(what, errors.Join(err, qerr))
		}
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("audit entry %d cannot follow entry %d, the last of the audit log of %s", e.Seq, last, s.where),
			Hint:    "import the audit log in seq order, from entry 1, into an empty database"}
	} else if err != nil {
		return wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// withHint gives a *ripcord.Error without a hint the hint.
func withHint(err error, hint string) error {
	var e *ripcord.Error
	if errors.As(err, &e) && e.Hint == "" {
		return &ripcord.Error{Code: e.Code, Message: e.Message, Hint: hint}
	}
	return err
}

// ImportDelivery stores a notification delivery as given (status,
// attempts, claim and times), so that a copied store does not send again
// what the source store sent. A delivery with its key that is stored
// already is ECONFLICT.
func (s *Store) ImportDelivery(ctx context.Context, d ripcord.Delivery) error {
	const hint = "import a delivery as the source store lists it"
	if err := ripcord.ValidateDelivery(d, d.Holder); err != nil {
		return withHint(err, hint)
	}
	if err := ripcord.ValidateDeliveryRecord(d); err != nil {
		return withHint(err, hint)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (execution_id, seq, destination) DO NOTHING`,
		d.ExecutionID, d.Seq, d.Destination, d.Kind, string(d.Status), d.Attempts, d.LastError, d.Holder,
		ripcord.StoreTime(d.ClaimExpires), ripcord.StoreTime(d.Created), ripcord.StoreTime(d.Updated))
	if err != nil {
		return wrap(fmt.Sprintf("import delivery %s/%d", d.ExecutionID, d.Seq), err)
	}
	if tag.RowsAffected() == 0 {
		return &ripcord.Error{Code: ripcord.ECONFLICT, Hint: "import into an empty database",
			Message: fmt.Sprintf("delivery %s/%d to %s: %s has it already", d.ExecutionID, d.Seq, d.Destination, s.where)}
	}
	return nil
}
