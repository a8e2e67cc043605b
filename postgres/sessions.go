package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// CreateSession stores a console session, created now on the store's
// clock, and removes the sessions that have expired, in one transaction.
func (s *Store) CreateSession(ctx context.Context, x ripcord.Session) error {
	now := time.Now()
	if s.now != nil {
		now = s.now()
	}
	if err := ripcord.ValidateSession(x, ripcord.StoreTime(now)); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM sessions WHERE expires <= `+nowSQL(1), s.clockArg())
	b.Queue(`INSERT INTO sessions (hash, token_hash, csrf, created, expires) VALUES ($1, $2, $3, `+nowSQL(4)+`, $5)`,
		x.Hash, x.TokenHash, x.CSRF, s.clockArg(), utc(x.Expires))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
	switch {
	case err == nil:
		return nil
	case constraintViolated(err, "sessions_pkey"):
		return &ripcord.Error{Code: ripcord.ECONFLICT, Message: "session: another session has the same cookie value",
			Hint: "generate a new random cookie value"}
	}
	return wrap("create session", err)
}

// SessionByHash returns the session with the given hash, or ENOTFOUND.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (ripcord.Session, error) {
	var x ripcord.Session
	err := s.pool.QueryRow(ctx, `SELECT hash, token_hash, csrf, created, expires FROM sessions WHERE hash = $1`, hash).
		Scan(&x.Hash, &x.TokenHash, &x.CSRF, &x.Created, &x.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Session{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "no such session", Hint: "sign in again"}
	} else if err != nil {
		return ripcord.Session{}, wrap("session", err)
	}
	x.Created, x.Expires = utc(x.Created), utc(x.Expires)
	return x, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return wrap("delete session", err)
	}
	return nil
}
