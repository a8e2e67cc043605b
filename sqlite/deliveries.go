package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// The DeliveryStore part: the deliveries table (migration 0006), claims
// decided in BEGIN IMMEDIATE transactions on the store's clock, as leases
// and mutexes are.

var _ ripcord.DeliveryStore = (*Store)(nil)

const deliveryColumns = `execution_id, seq, destination, kind, status, attempts, last_error, holder, claim_expires, created, updated`

// ClaimDelivery records d as holder's to send, or takes over a sending
// delivery whose claim expired, or reports who has it.
func (s *Store) ClaimDelivery(ctx context.Context, d ripcord.Delivery, holder string, ttl time.Duration) (ripcord.Delivery, bool, error) {
	if err := ripcord.ValidateDelivery(d, holder); err != nil {
		return ripcord.Delivery{}, false, err
	}
	what := fmt.Sprintf("claim delivery %s/%d to %s", d.ExecutionID, d.Seq, d.Destination)
	now := ripcord.StoreTime(s.now())
	expires, err := ripcord.ClusterExpiry(what, now, ttl)
	if err != nil {
		return ripcord.Delivery{}, false, err
	}
	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	current, found, err := readDelivery(ctx, tx, d)
	if err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case !found:
		current = ripcord.Delivery{ExecutionID: d.ExecutionID, Seq: d.Seq, Destination: d.Destination, Kind: d.Kind,
			Status: ripcord.DeliverySending, Holder: holder, ClaimExpires: expires, Created: now, Updated: now}
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (`+deliveryColumns+`) VALUES (?, ?, ?, ?, ?, 0, '', ?, ?, ?, ?)`,
			d.ExecutionID, d.Seq, d.Destination, d.Kind, string(ripcord.DeliverySending), holder,
			formatTime(expires), formatTime(now), formatTime(now))
	case current.Status != ripcord.DeliverySending:
		return current, false, nil
	case current.Holder != holder && now.Before(current.ClaimExpires):
		return current, false, nil
	default: // expired, or holder's already
		current.Holder, current.ClaimExpires = holder, expires
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET holder = ?, claim_expires = ?
			WHERE execution_id = ? AND seq = ? AND destination = ?`,
			holder, formatTime(expires), d.ExecutionID, d.Seq, d.Destination)
	}
	if err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	return current, true, nil
}

// RecordDelivery records an attempt's outcome under d.Holder's claim.
func (s *Store) RecordDelivery(ctx context.Context, d ripcord.Delivery, ttl time.Duration) (ripcord.Delivery, error) {
	if err := ripcord.ValidateDelivery(d, d.Holder); err != nil {
		return ripcord.Delivery{}, err
	}
	if err := ripcord.ValidateDeliveryRecord(d); err != nil {
		return ripcord.Delivery{}, err
	}
	what := fmt.Sprintf("record delivery %s/%d to %s", d.ExecutionID, d.Seq, d.Destination)
	now := ripcord.StoreTime(s.now())
	expires, err := ripcord.ClusterExpiry(what, now, ttl)
	if err != nil {
		return ripcord.Delivery{}, err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	current, found, err := readDelivery(ctx, tx, d)
	if err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	if !found {
		return ripcord.Delivery{}, ripcord.DeliveryNotFound(d)
	}
	if current.Holder != d.Holder || current.Status != ripcord.DeliverySending {
		return ripcord.Delivery{}, ripcord.DeliveryLost(d, current)
	}
	current.Status, current.Attempts, current.LastError = d.Status, d.Attempts, d.LastError
	current.ClaimExpires, current.Updated = expires, now
	_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = ?, last_error = ?, claim_expires = ?, updated = ?
		WHERE execution_id = ? AND seq = ? AND destination = ?`,
		string(d.Status), d.Attempts, d.LastError, formatTime(expires), formatTime(now), d.ExecutionID, d.Seq, d.Destination)
	if err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	return current, nil
}

// ListDeliveries returns execution id's deliveries by seq and destination.
func (s *Store) ListDeliveries(ctx context.Context, id string) ([]ripcord.Delivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE execution_id = ? ORDER BY seq, destination`, id)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", id, err)
	}
	defer rows.Close()
	out := []ripcord.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list deliveries of %s: %w", id, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", id, err)
	}
	return out, nil
}

func readDelivery(ctx context.Context, tx *sql.Tx, d ripcord.Delivery) (ripcord.Delivery, bool, error) {
	got, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE execution_id = ? AND seq = ? AND destination = ?`, d.ExecutionID, d.Seq, d.Destination))
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Delivery{}, false, nil
	}
	return got, err == nil, err
}

func scanDelivery(row interface{ Scan(...any) error }) (ripcord.Delivery, error) {
	var d ripcord.Delivery
	var status, expires, created, updated string
	if err := row.Scan(&d.ExecutionID, &d.Seq, &d.Destination, &d.Kind, &status, &d.Attempts, &d.LastError,
		&d.Holder, &expires, &created, &updated); err != nil {
		return ripcord.Delivery{}, err
	}
	d.Status = ripcord.DeliveryStatus(status)
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&d.ClaimExpires, expires}, {&d.Created, created}, {&d.Updated, updated}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return ripcord.Delivery{}, fmt.Errorf("delivery %s/%d: %w", d.ExecutionID, d.Seq, err)
		}
	}
	return d, nil
}
