package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/internal/migrations"
)

// migrationFiles holds the schema, one numbered file per change:
// migrations/0001_init.sql, 0002_....sql. A migration, once released, is
// never edited; a change is a new file with the next number.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string // the file name, e.g. 0001_init.sql
	sql     string
}

// loadMigrations reads the migrations under migrations/ in fsys
// (internal/migrations: numbered 1, 2, 3, ... without gaps).
func loadMigrations(fsys fs.FS) ([]migration, error) {
	loaded, err := migrations.Load(fsys)
	if err != nil {
		return nil, err
	}
	ms := make([]migration, len(loaded))
	for i, m := range loaded {
		ms[i] = migration{version: m.Version, name: m.Name, sql: m.SQL}
	}
	return ms, nil
}

// migrate applies the migrations the database at path lacks, and records
// each in schema_migrations, in one transaction: a migration is applied
// entirely or not at all. BEGIN IMMEDIATE makes two processes opening the
// same new file migrate one after the other. A database whose schema is
// newer than ms is refused, and so is an SQLite file that is not ripcord's.
func migrate(ctx context.Context, db *sql.DB, path string, ms []migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer tx.Rollback()

	var known int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&known)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if known == 0 {
		var tables int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&tables)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		if tables > 0 {
			return &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("%s is an SQLite database but not ripcord's (it has tables and no schema_migrations)", path),
				Hint:    "pass --db a ripcord database, or a path where one can be created"}
		}
		_, err = tx.ExecContext(ctx, `CREATE TABLE schema_migrations (
			version INTEGER PRIMARY KEY,
			name    TEXT NOT NULL,
			applied TEXT NOT NULL
		) STRICT`)
		if err != nil {
			return fmt.Errorf("create schema_migrations in %s: %w", path, err)
		}
	}

	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if current > len(ms) {
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("database %s has schema version %d, newer than this ripcord knows (%d)", path, current, len(ms)),
			Hint:    "a newer ripcord wrote it: use that version (or newer) of ripcord with this database, or pass another --db"}
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", path, m.name, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied)
			VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`, m.version, m.name)
		if err != nil {
			return fmt.Errorf("migrate %s: record %s: %w", path, m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: %w", path, err)
	}
	return nil
}

// schemaVersion returns the number of migrations applied, checking that
// they are 1..n: anything else means the table was edited by hand.
func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("read schema_migrations: %w", err)
		}
		if n++; v != n {
			return 0, fmt.Errorf("schema_migrations lists version %d where %d was expected: the table was changed by hand", v, n)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	return n, nil
}
