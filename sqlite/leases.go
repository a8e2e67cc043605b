package sqlite

import (
	"context"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TODO(lease): implemented in the lease change.

func (s *Store) AcquireLease(ctx context.Context, execID string, owner ripcord.LeaseOwner, ttl time.Duration) (ripcord.Lease, error) {
	return ripcord.Lease{}, ripcord.Errorf(ripcord.EINTERNAL, "not yet")
}

func (s *Store) RenewLease(ctx context.Context, l ripcord.Lease, ttl time.Duration) (ripcord.Lease, error) {
	return ripcord.Lease{}, ripcord.Errorf(ripcord.EINTERNAL, "not yet")
}

func (s *Store) ReleaseLease(ctx context.Context, l ripcord.Lease) error {
	return ripcord.Errorf(ripcord.EINTERNAL, "not yet")
}

func (s *Store) Lease(ctx context.Context, execID string) (ripcord.Lease, error) {
	return ripcord.Lease{}, ripcord.Errorf(ripcord.EINTERNAL, "not yet")
}
