package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// SavePlanVersion saves v unless a version with its hash is already saved.
func (s *Store) SavePlanVersion(ctx context.Context, v ripcord.PlanVersion) error {
	if err := validPlanVersion(v); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO plan_versions (hash, name, source, created)
		VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING`,
		v.Hash, v.Name, v.Source, ripcord.StoreTime(v.Created))
	if err != nil {
		return wrap("save plan version "+v.Hash, err)
	}
	return nil
}

// validPlanVersion is v.Validate, and text PostgreSQL can keep.
func validPlanVersion(v ripcord.PlanVersion) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if err := checkTexts("hash", v.Hash, "name", v.Name); err != nil {
		return ripcord.Errorf(ripcord.EINVALID, "plan version %q: %v", v.Hash, err)
	}
	return nil
}

// PlanVersion returns the plan version with the given hash.
func (s *Store) PlanVersion(ctx context.Context, hash string) (ripcord.PlanVersion, error) {
	v := ripcord.PlanVersion{Hash: hash}
	err := s.pool.QueryRow(ctx, `SELECT name, source, created FROM plan_versions WHERE hash = $1`, hash).
		Scan(&v.Name, &v.Source, &v.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.PlanVersion{}, s.planVersionNotFound(hash)
	} else if err != nil {
		return ripcord.PlanVersion{}, wrap("plan version "+hash, err)
	}
	v.Created = utc(v.Created)
	return v, nil
}

func (s *Store) planVersionNotFound(hash string) error {
	return &ripcord.Error{Code: ripcord.ENOTFOUND,
		Message: fmt.Sprintf("plan version %s not found", hash),
		Hint:    fmt.Sprintf("the database %s has no plan with this hash; apply the plan first, or check --db", s.where)}
}

// ListPlanVersions returns the versions of plan name (every plan's when
// name is ""), newest first.
func (s *Store) ListPlanVersions(ctx context.Context, name string) ([]ripcord.PlanVersion, error) {
	q := `SELECT hash, name, source, created FROM plan_versions`
	var args []any
	if name != "" {
		q, args = q+` WHERE name = $1`, append(args, name)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY created DESC, hash DESC`, args...)
	if err != nil {
		return nil, wrap("list plan versions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ripcord.PlanVersion, error) {
		var v ripcord.PlanVersion
		var created time.Time
		err := row.Scan(&v.Hash, &v.Name, &v.Source, &created)
		v.Created = utc(created)
		return v, err
	})
	if err != nil {
		return nil, wrap("list plan versions", err)
	}
	if list == nil {
		list = []ripcord.PlanVersion{}
	}
	return list, nil
}
