package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// CreateSession stores a console session, created now on the store's
// clock, and removes the sessions that have expired.
func (s *Store) CreateSession(ctx context.Context, x ripcord.Session) error {
	now := ripcord.StoreTime(s.now())
	if err := ripcord.ValidateSession(x, now); err != nil {
		return err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, formatTime(now)); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE hash = ?`, x.Hash).Scan(&n); err != nil {
		return fmt.Errorf("create session: %w", err)
	} else if n > 0 {
		return &ripcord.Error{Code: ripcord.ECONFLICT, Message: "session: another session has the same cookie value",
			Hint: "generate a new random cookie value"}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, token_hash, csrf, created, expires) VALUES (?, ?, ?, ?, ?)`,
		x.Hash, x.TokenHash, x.CSRF, formatTime(now), formatTime(x.Expires)); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session with the given hash, or ENOTFOUND.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (ripcord.Session, error) {
	var x ripcord.Session
	var created, expires string
	err := s.read.QueryRowContext(ctx, `SELECT hash, token_hash, csrf, created, expires FROM sessions WHERE hash = ?`, hash).
		Scan(&x.Hash, &x.TokenHash, &x.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Session{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "no such session",
			Hint: "sign in again"}
	} else if err != nil {
		return ripcord.Session{}, fmt.Errorf("session: %w", err)
	}
	if x.Created, err = parseTime(created); err != nil {
		return ripcord.Session{}, fmt.Errorf("session: %w", err)
	}
	if x.Expires, err = parseTime(expires); err != nil {
		return ripcord.Session{}, fmt.Errorf("session: %w", err)
	}
	return x, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
