package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// The audit log is the audit table: append-only and gapless, which its
// triggers enforce whatever code writes to it. Appenders (of every replica)
// queue on a transaction-scoped advisory lock of the store's schema, then,
// in a later statement that sees what the one before committed, write the
// last seq plus 1, dated on the store's clock under the lock, so that seqs
// and times grow together. (Not LOCK TABLE: pgx prepares a batch's
// statements before it runs them, and preparing the INSERT takes the
// table's ROW EXCLUSIVE lock, before LOCK TABLE, whose mode conflicts
// with it: two appenders would deadlock.)

// AppendAudit adds e as the next entry, at the store's time, and returns
// its seq.
func (s *Store) AppendAudit(ctx context.Context, e ripcord.AuditEntry) (int64, error) {
	if err := validAudit(e); err != nil {
		return 0, err
	}
	what := fmt.Sprintf("append to the audit log (%s by %s)", e.Action, e.Actor)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "ripcord audit "+s.schema)
	b.Queue(`INSERT INTO audit (seq, at, actor, action, object, remote, detail)
		SELECT coalesce(max(seq), 0) + 1, `+nowSQL(1)+`, $2, $3, $4, $5, $6 FROM audit
		RETURNING seq`,
		s.clockArg(), e.Actor, e.Action, e.Object, e.Remote, e.Detail)
	br := tx.SendBatch(ctx, b)
	var seq int64
	if _, err := br.Exec(); err != nil {
		br.Close()
		return 0, wrap(what, err)
	}
	if err := br.QueryRow().Scan(&seq); err != nil {
		br.Close()
		return 0, wrap(what, err)
	}
	if err := br.Close(); err != nil {
		return 0, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return seq, nil
}

// validAudit reports whether e can be appended, always as EINVALID.
func validAudit(e ripcord.AuditEntry) error {
	switch {
	case e.Actor == "":
		return ripcord.Errorf(ripcord.EINVALID, "audit entry %q: no actor", e.Action)
	case e.Action == "":
		return ripcord.Errorf(ripcord.EINVALID, "audit entry by %q: no action", e.Actor)
	}
	err := checkTexts("actor", e.Actor, "action", e.Action, "object", e.Object, "remote address", e.Remote, "detail", e.Detail)
	if err != nil {
		return ripcord.Errorf(ripcord.EINVALID, "audit entry %q: %v", e.Action, err)
	}
	return nil
}

// ListAudit returns the entries after f.After, oldest first, at most
// f.Limit (0: all).
func (s *Store) ListAudit(ctx context.Context, f ripcord.AuditFilter) ([]ripcord.AuditEntry, error) {
	if f.After < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "audit filter: negative seq %d", f.After)
	} else if f.Limit < 0 {
		return nil, ripcord.Errorf(ripcord.EINVALID, "audit filter: negative limit %d", f.Limit)
	}
	var limit any // NULL: no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, action, object, remote, detail FROM audit
		WHERE seq > $1 ORDER BY seq LIMIT $2`, f.After, limit)
	if err != nil {
		return nil, wrap("list the audit log", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ripcord.AuditEntry, error) {
		var e ripcord.AuditEntry
		var at time.Time
		err := row.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &e.Remote, &e.Detail)
		e.At = utc(at)
		return e, err
	})
	if err != nil {
		return nil, wrap("list the audit log", err)
	}
	if list == nil {
		list = []ripcord.AuditEntry{}
	}
	return list, nil
}
