package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
	created := ripcord.StoreTime(s.now())

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the checks and the insert under one lock
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE id = ?`, t.ID).Scan(&n); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	} else if n > 0 {
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("token %q already exists", t.ID),
			Hint:    "a token ID is used once; create the token under a new ID"}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE hash = ?`, t.Hash).Scan(&n); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	} else if n > 0 {
		// The hash is not printed: it identifies the other token's secret.
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("token %q: another token has the same secret", t.ID),
			Hint:    "generate a new random secret for this token"}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tokens (id, name, role, hash, created, expires, revoked)
		VALUES (?, ?, ?, ?, ?, ?, NULL)`,
		t.ID, t.Name, string(t.Role), t.Hash, formatTime(created), formatTimeOrNull(t.Expires))
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// TokenByHash returns the token whose secret has the given hash, live or
// not.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (ripcord.Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Token{}, &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: "no token has this secret",
			Hint:    fmt.Sprintf("check the token for typos; it may have been created in another database than %s", s.path)}
	} else if err != nil {
		return ripcord.Token{}, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]ripcord.Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	list := []ripcord.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
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
	now := ripcord.StoreTime(s.now())
	// One statement: it revokes a live token and leaves a revoked one
	// alone, so that nothing can come between a check and the write.
	res, err := s.write.ExecContext(ctx, `UPDATE tokens SET revoked = coalesce(revoked, ?) WHERE id = ?`, formatTime(now), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	} else if n == 0 {
		return &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: fmt.Sprintf("token %q not found", id),
			Hint:    fmt.Sprintf("the database %s has no token with this ID; the token list shows the ones it has", s.path)}
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created, expires, revoked`

// scanToken reads a row of tokenColumns.
func scanToken(row interface{ Scan(...any) error }) (ripcord.Token, error) {
	var t ripcord.Token
	var role, created string
	var expires, revoked sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &expires, &revoked); err != nil {
		return ripcord.Token{}, err
	}
	t.Role = ripcord.Role(role)
	var err error
	if t.Created, err = parseTime(created); err != nil {
		return ripcord.Token{}, fmt.Errorf("token %s: %w", t.ID, err)
	}
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&t.Expires, expires}, {&t.Revoked, revoked}} {
		if !f.src.Valid {
			continue
		}
		if *f.dst, err = parseTime(f.src.String); err != nil {
			return ripcord.Token{}, fmt.Errorf("token %s: %w", t.ID, err)
		}
	}
	return t, nil
}

// checkText reports whether s can be stored as text by every store:
// PostgreSQL keeps only valid UTF-8 without NUL bytes.
func checkText(name, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("the %s is not valid UTF-8", name)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("the %s contains a NUL byte", name)
	}
	return nil
}

// checkTime reports whether t can be stored: not zero, within the years 1
// to 9999 (as the root's checks for plan versions and executions say it).
func checkTime(t time.Time, name string) error {
	if t.IsZero() {
		return fmt.Errorf("no %s time", name)
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s time %s is outside the years 1 to 9999", name, t)
	}
	return nil
}
