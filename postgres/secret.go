package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// ServerSecret returns the server's secret, made and stored by the first
// call: one statement inserts a fresh secret unless one is there and
// returns the stored one, so racing first calls of every replica agree.
func (s *Store) ServerSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, ripcord.ServerSecretSize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	return s.putSecret(ctx, fresh)
}

// putSecret stores secret unless a secret is stored, and returns the
// stored one.
func (s *Store) putSecret(ctx context.Context, secret []byte) ([]byte, error) {
	var got []byte
	var err error
	// A racing first call that commits while this statement runs is in
	// neither half of its answer (the statement's snapshot predates it,
	// and its insert did nothing): the next statement sees it.
	for range 3 {
		err = s.pool.QueryRow(ctx, `WITH i AS (
			INSERT INTO server_secret (id, secret, created) VALUES (1, $1, `+nowSQL(2)+`)
			ON CONFLICT (id) DO NOTHING RETURNING secret
		)
		SELECT secret FROM i
		UNION ALL
		SELECT secret FROM server_secret WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM i)`,
			secret, s.clockArg()).Scan(&got)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return nil, wrap("server secret", err)
	}
	return got, nil
}

// ImportServerSecret stores the source store's server secret (so that the
// approval links it signed stay valid). The same secret stored already is
// fine, so that a copy can be run again; another one is ECONFLICT.
func (s *Store) ImportServerSecret(ctx context.Context, secret []byte) error {
	if len(secret) != ripcord.ServerSecretSize {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("import server secret: %d bytes, not %d", len(secret), ripcord.ServerSecretSize),
			Hint: "import the secret as the source store's ServerSecret returns it"}
	}
	got, err := s.putSecret(ctx, secret)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, secret) {
		return &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf("import server secret: %s has another server secret", s.where),
			Hint: "import into an empty database"}
	}
	return nil
}
