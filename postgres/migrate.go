package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// embedded returns the migrations built into this ripcord.
var embedded = sync.OnceValues(func() ([]migration, error) { return loadMigrations(migrationFiles) })

// KnownVersion is the schema version this ripcord knows: the number of its
// migrations. Open brings a database up to it.
func KnownVersion() int {
	ms, err := embedded()
	if err != nil {
		panic(err) // a bug in the build: the embedded files are checked by the tests
	}
	return len(ms)
}

// SchemaVersion returns the schema version of the store dsn names: the
// number of migrations applied, 0 for a schema ripcord never used. It
// changes nothing.
func SchemaVersion(ctx context.Context, dsn string) (int, error) {
	cfg, err := parseConfig(dsn)
	if err != nil {
		return 0, err
	}
	where := describe(cfg.ConnConfig)
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, connectError(where, err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("schema version of %s: %w", where, err)
	}
	defer rollback(tx)
	schema, err := currentSchema(ctx, tx, where)
	if err != nil {
		return 0, err
	}
	exists, err := hasMigrationsTable(ctx, tx, schema)
	if err != nil || !exists {
		return 0, wrapIf(fmt.Sprintf("schema version of %s", where), err)
	}
	return schemaVersion(ctx, tx, schema)
}

// Migrate brings the schema of the store dsn names up to [KnownVersion]
// and returns the versions before and after (equal when nothing was to
// do). It is what `ripcord migrate` runs; a schema newer than this ripcord
// knows is refused and left alone.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	cfg, err := parseConfig(dsn)
	if err != nil {
		return 0, 0, err
	}
	where := describe(cfg.ConnConfig)
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, 0, connectError(where, err)
	}
	defer conn.Close(context.Background())
	ms, err := embedded()
	if err != nil {
		return 0, 0, err
	}
	v, err := migrateSchema(ctx, conn, where, ms, true)
	return v.from, v.to, err
}

// versions is what migrateSchema found and did.
type versions struct {
	schema   string
	from, to int
}

// beginner is a pool or a connection.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// migrateSchema applies the migrations the store's schema lacks (unless
// !apply: then it refuses a schema that lacks any), each recorded in
// schema_migrations, all in one transaction: the schema is migrated
// entirely or not at all. A transaction-scoped advisory lock, keyed by the
// schema, makes replicas that start together migrate one after the other:
// the second finds the work done. A schema newer than this ripcord knows,
// and one holding tables that are not ripcord's, are refused.
func migrateSchema(ctx context.Context, db beginner, where string, ms []migration, apply bool) (versions, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return versions{}, connectError(where, err)
	}
	defer rollback(tx)

	schema, err := currentSchema(ctx, tx, where)
	if err != nil {
		return versions{}, err
	}
	// The migrations create their tables and functions in the schema,
	// and its functions capture this search_path.
	_, err = tx.Exec(ctx, `SET LOCAL search_path TO `+pgx.Identifier{schema}.Sanitize())
	if err != nil {
		return versions{}, fmt.Errorf("migrate %s: %w", where, err)
	}
	_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ripcord migrate ' || $1::text, 0))`, schema)
	if err != nil {
		return versions{}, fmt.Errorf("migrate %s: lock: %w", where, err)
	}

	v := versions{schema: schema}
	exists, err := hasMigrationsTable(ctx, tx, schema)
	if err != nil {
		return v, fmt.Errorf("open %s: %w", where, err)
	}
	if exists {
		if v.from, err = schemaVersion(ctx, tx, schema); err != nil {
			return v, fmt.Errorf("open %s (schema %s): %w", where, schema, err)
		}
	} else {
		var tables int
		err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1`, schema).Scan(&tables)
		if err != nil {
			return v, fmt.Errorf("open %s: %w", where, err)
		}
		if tables > 0 {
			return v, &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("%s: schema %s has tables but no schema_migrations: it is not ripcord's", where, schema),
				Hint:    "give ripcord a database of its own, or a schema of its own (search_path in the connection string)"}
		}
	}
	v.to = v.from
	if v.from > len(ms) {
		return v, &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("database schema is version %d; this ripcord knows up to %d: upgrade ripcord", v.from, len(ms)),
			Hint:    fmt.Sprintf("a newer ripcord migrated %s (schema %s); run that version of ripcord, or a newer one, with it", where, schema)}
	}
	if v.from == len(ms) {
		return v, nil // up to date: the transaction is rolled back, having changed nothing
	}
	if !apply {
		return v, &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("database schema is version %d; this ripcord needs version %d", v.from, len(ms)),
			Hint:    fmt.Sprintf("run `ripcord migrate` against %s (schema %s), then start again", where, schema)}
	}
	if !exists {
		_, err = tx.Exec(ctx, `CREATE TABLE schema_migrations (
			version integer PRIMARY KEY CHECK (version >= 1),
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT clock_timestamp()
		)`)
		if err != nil {
			return v, fmt.Errorf("create schema_migrations in %s: %w", where, err)
		}
	}
	for _, m := range ms[v.from:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return v, fmt.Errorf("migrate %s: %s: %w", where, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return v, fmt.Errorf("migrate %s: record %s: %w", where, m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return v, fmt.Errorf("migrate %s: %w", where, err)
	}
	v.to = len(ms)
	return v, nil
}

// currentSchema returns the schema the store's tables are in: the first
// existing schema of the search_path.
func currentSchema(ctx context.Context, tx pgx.Tx, where string) (string, error) {
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", connectError(where, err)
	}
	if schema == nil {
		var path string
		_ = tx.QueryRow(ctx, `SHOW search_path`).Scan(&path)
		return "", &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("%s: no schema of the search_path (%s) exists", where, path),
			Hint:    "create the schema (CREATE SCHEMA ...) or fix search_path in the connection string"}
	}
	return *schema, nil
}

func hasMigrationsTable(ctx context.Context, tx pgx.Tx, schema string) (bool, error) {
	var exists bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations')`, schema).Scan(&exists)
	return exists, err
}

// schemaVersion returns the number of migrations applied, checking that
// they are 1..n: anything else means the table was edited by hand.
func schemaVersion(ctx context.Context, tx pgx.Tx, schema string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT version FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+` ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	for i, v := range vs {
		if v != i+1 {
			return 0, fmt.Errorf("schema_migrations lists version %d where %d was expected: the table was changed by hand", v, i+1)
		}
	}
	return len(vs), nil
}

// connectError explains a failure to reach the database: the server's
// refusal of the caller's credentials or database is EINVALID, anything
// else (no server, a network problem) EUNAVAILABLE.
func connectError(where string, err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", where, err)
	}
	if pe := pgError(err); pe != nil && (strings.HasPrefix(pe.Code, "28") || pe.Code == "3D000") {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: %s", where, pe.Message),
			Hint: "check the user, password and database name in the connection string"}
	}
	return &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: fmt.Sprintf("%s: cannot connect: %v", where, err),
		Hint: "check that the PostgreSQL server runs and that the connection string's host, port and sslmode are right"}
}

// wrapIf wraps a non-nil err.
func wrapIf(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
