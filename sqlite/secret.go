package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// ServerSecret returns the server's secret, made and stored by the first
// call (in one write transaction: racing first calls, here or in another
// process on the same file, keep the first one).
func (s *Store) ServerSecret(ctx context.Context) ([]byte, error) {
	var got []byte
	err := s.read.QueryRowContext(ctx, `SELECT secret FROM server_secret WHERE id = 1`).Scan(&got)
	if err == nil {
		return got, nil
	}
	fresh := make([]byte, ripcord.ServerSecretSize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO server_secret (id, secret, created) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		fresh, formatTime(ripcord.StoreTime(s.now()))); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT secret FROM server_secret WHERE id = 1`).Scan(&got); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	return got, nil
}
