package sqlite

import (
	"context"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// The audit log is the audit table: append-only and gapless, which its
// triggers enforce whatever code writes to it. An entry's seq is the last
// one plus 1, chosen and written in one statement under the write lock, so
// concurrent appenders (of this process or of others on the same file) are
// serialized; its time is the store's clock.

// AppendAudit adds e as the next entry, at the store's time, and returns
// its seq.
func (s *Store) AppendAudit(ctx context.Context, e ripcord.AuditEntry) (int64, error) {
	if err := validAudit(e); err != nil {
		return 0, err
	}
	at := ripcord.StoreTime(s.now())
	var seq int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO audit (seq, at, actor, action, object, remote, detail)
		SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM audit
		RETURNING seq`,
		formatTime(at), e.Actor, e.Action, e.Object, e.Remote, e.Detail).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("append to the audit log (%s by %s): %w", e.Action, e.Actor, err)
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
	for _, f := range []struct{ name, value string }{
		{"actor", e.Actor}, {"action", e.Action}, {"object", e.Object}, {"remote address", e.Remote}, {"detail", e.Detail},
	} {
		if err := checkText(f.name, f.value); err != nil {
			return ripcord.Errorf(ripcord.EINVALID, "audit entry %q: %v", e.Action, err)
		}
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
	limit := f.Limit
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, at, actor, action, object, remote, detail FROM audit
		WHERE seq > ? ORDER BY seq LIMIT ?`, f.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list the audit log: %w", err)
	}
	defer rows.Close()
	list := []ripcord.AuditEntry{}
	for rows.Next() {
		var e ripcord.AuditEntry
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &e.Remote, &e.Detail); err != nil {
			return nil, fmt.Errorf("list the audit log: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list the audit log: entry %d: %w", e.Seq, err)
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the audit log: %w", err)
	}
	return list, nil
}
