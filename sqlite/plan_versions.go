package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// SavePlanVersion saves v unless a version with its hash is already saved.
func (s *Store) SavePlanVersion(ctx context.Context, v ripcord.PlanVersion) error {
	if err := v.Validate(); err != nil {
		return err
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO plan_versions (hash, name, source, created)
		VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		v.Hash, v.Name, v.Source, formatTime(v.Created))
	if err != nil {
		return fmt.Errorf("save plan version %s: %w", v.Hash, err)
	}
	return nil
}

// PlanVersion returns the plan version with the given hash.
func (s *Store) PlanVersion(ctx context.Context, hash string) (ripcord.PlanVersion, error) {
	v := ripcord.PlanVersion{Hash: hash}
	var created string
	err := s.read.QueryRowContext(ctx, `SELECT name, source, created FROM plan_versions WHERE hash = ?`, hash).
		Scan(&v.Name, &v.Source, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.PlanVersion{}, s.planVersionNotFound(hash)
	} else if err != nil {
		return ripcord.PlanVersion{}, fmt.Errorf("plan version %s: %w", hash, err)
	}
	if v.Created, err = parseTime(created); err != nil {
		return ripcord.PlanVersion{}, fmt.Errorf("plan version %s: %w", hash, err)
	}
	return v, nil
}

func (s *Store) planVersionNotFound(hash string) error {
	return &ripcord.Error{Code: ripcord.ENOTFOUND,
		Message: fmt.Sprintf("plan version %s not found", hash),
		Hint:    fmt.Sprintf("the database %s has no plan with this hash; apply the plan first, or check --db", s.path)}
}

// ListPlanVersions returns the versions of plan name (every plan's when
// name is ""), newest first.
func (s *Store) ListPlanVersions(ctx context.Context, name string) ([]ripcord.PlanVersion, error) {
	q := `SELECT hash, name, source, created FROM plan_versions`
	var args []any
	if name != "" {
		q, args = q+` WHERE name = ?`, append(args, name)
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY created DESC, hash DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list plan versions: %w", err)
	}
	defer rows.Close()
	list := []ripcord.PlanVersion{}
	for rows.Next() {
		var v ripcord.PlanVersion
		var created string
		if err := rows.Scan(&v.Hash, &v.Name, &v.Source, &created); err != nil {
			return nil, fmt.Errorf("list plan versions: %w", err)
		}
		if v.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list plan versions: %s: %w", v.Hash, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list plan versions: %w", err)
	}
	return list, nil
}
