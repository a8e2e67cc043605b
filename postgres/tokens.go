package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// A token is a row of the tokens table: its secret's SHA-256 hash, never the
// secret. The schema checks the role and the hash's length too, and keeps a
// revoked token revoked at its first time; Created and Revoked are taken
// from the store's clock.

// hashLen is the length of a token's hash: SHA-256.
const hashLen = 32

// CreateToken stores a new token, created now on the store's clock.
func (s *Store) CreateToken(ctx context.Context, t ripcord.Token) error {
	if err := t.Validate(false); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (id, name, role, hash, created, expires, revoked)
		VALUES ($1, $2, $3, $4, `+nowSQL(5)+`, $6, NULL)`,
		t.ID, t.Name, string(t.Role), t.Hash, s.clockArg(), timeOrNull(t.Expires))
	return s.tokenInsertError(t.ID, err)
}

// tokenInsertError explains the refusal of token id's insert.
func (s *Store) tokenInsertError(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case constraintViolated(err, "tokens_pkey"):
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("token %q already exists", id),
			Hint:    "a token ID is used once; create the token under a new ID"}
	case constraintViolated(err, "tokens_hash_key"):
		// The hash is not printed: it identifies the other token's secret.
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("token %q: another token has the same secret", id),
			Hint:    "generate a new random secret for this token"}
	}
	return wrap("create token "+id, err)
}

// TokenByHash returns the token whose secret has the given hash, live or
// not.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (ripcord.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash)
	if err != nil {
		return ripcord.Token{}, wrap("token by hash", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Token{}, &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: "no token has this secret",
			Hint:    fmt.Sprintf("check the token for typos; it may have been created in another database than %s", s.where)}
	} else if err != nil {
		return ripcord.Token{}, wrap("token by hash", err)
	}
	return t, nil
}

// ListTokens returns every token, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]ripcord.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	list, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	if list == nil {
		list = []ripcord.Token{}
	}
	return list, nil
}

// RevokeToken revokes a token now on the store's clock; a revoked token
// keeps its first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	if id == "" {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: "revoke token: no ID",
			Hint: "name the token by its ID, as the token list shows it"}
	}
	// One statement: it revokes a live token and leaves a revoked one
	// alone, so that nothing can come between a check and the write.
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked = coalesce(revoked, `+nowSQL(2)+`) WHERE id = $1`, id, s.clockArg())
	if err != nil {
		return wrap("revoke token "+id, err)
	}
	if tag.RowsAffected() == 0 {
		return &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: fmt.Sprintf("token %q not found", id),
			Hint:    fmt.Sprintf("the database %s has no token with this ID; the token list shows the ones it has", s.where)}
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created, expires, revoked`

// scanToken reads a row of tokenColumns.
func scanToken(row pgx.CollectableRow) (ripcord.Token, error) {
	var t ripcord.Token
	var role string
	var expires, revoked *time.Time
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &t.Created, &expires, &revoked); err != nil {
		return ripcord.Token{}, err
	}
	t.Role, t.Created, t.Expires, t.Revoked = ripcord.Role(role), utc(t.Created), utcOrZero(expires), utcOrZero(revoked)
	return t, nil
}
