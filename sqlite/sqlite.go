// Package sqlite implements ripcord.Store on SQLite, the embedded default
// store for one process. It uses modernc.org/sqlite, a pure Go SQLite, so
// ripcord builds without cgo.
//
// A database file holds plan versions and executions, each execution an
// append-only event log plus the row that lists it, and the lease of the
// process that drives it (expiry judged on the store's clock, see
// [WithClock]); and, for the server, API tokens (the SHA-256 hashes of
// their secrets) and the audit log. The schema is created and upgraded by
// embedded, numbered migrations (migrations/0001_init.sql, ...) when the
// store opens; a database written by a newer ripcord is refused rather than
// misread. The schema itself keeps event logs and the audit log gapless and
// append-only, lease epochs growing, revoked tokens revoked, and at most
// one live execution per exclusive key.
//
// The file runs in WAL mode with synchronous=FULL, foreign keys on and a
// busy timeout. Writes go through a single connection in BEGIN IMMEDIATE
// transactions, reads through a small pool of read-only connections; see
// [Open].
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	modernc "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ripcord-dr/ripcord"
)

// Memory is the path of a private in-memory database, for tests. It lives as
// long as the Store.
const Memory = ":memory:"

const (
	// busyTimeout is how long a statement waits for a lock held by another
	// process (a second ripcord, e.g. `exec pause` while `run` writes)
	// before it fails. Write transactions here last milliseconds.
	busyTimeout = 5 * time.Second

	// readConns bounds the read pool. In WAL mode readers never wait for
	// the writer; the engine, the web console and its watchers read at
	// once, and a few connections are plenty for one process.
	readConns = 4
)

// Store is a ripcord.Store on one SQLite database.
type Store struct {
	path string // as given to Open, for messages

	// write is the only connection that writes. It opens every
	// transaction with BEGIN IMMEDIATE, which takes SQLite's write lock
	// at once: Append reads the last seq and writes after it under that
	// lock, and writers of this process queue in database/sql (honouring
	// their contexts) instead of spinning in SQLite's busy handler.
	write *sql.DB

	// read serves the read-only methods from query_only connections; in
	// WAL mode they see the last committed transaction and never block
	// the writer. For Memory it is write: each connection to :memory:
	// would be a different database.
	read *sql.DB

	// now is the store's clock: lease expiry is judged on it, and tokens
	// and audit entries are dated by it.
	now func() time.Time

	// notes reach this Store's subscribers (notes.go); Close closes them.
	notes *notes
}

// Option configures a Store in [Open].
type Option func(*Store)

// WithClock makes now the store's clock, on which leases are acquired,
// renewed and judged expired, and which dates tokens (created, revoked) and
// audit entries; tests pass a manual clock. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

var _ ripcord.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file and its
// directory if needed, and brings its schema up to date. Memory opens a
// private in-memory database.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "sqlite: no database path",
			Hint: "pass a file path, or leave --db out to use " + defaultPathHint()}
	}
	migrations, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, err // a bug in the build, not the caller's
	}

	s := &Store{path: path, now: time.Now, notes: newNotes()}
	for _, o := range opts {
		o(s)
	}
	writePragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"foreign_keys(1)",
	}
	if path == Memory {
		s.write, err = sql.Open("sqlite", dsn(path, writePragmas, "immediate"))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		s.read = s.write
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// The directory is private: plans name accounts, roles and
		// external IDs.
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// synchronous=FULL: an intent recorded before a StartRecovery
		// must survive a power loss, not only a crash of the process.
		s.write, err = sql.Open("sqlite", dsn(abs, append(writePragmas, "synchronous(FULL)"), "immediate"))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		s.read, err = sql.Open("sqlite", dsn(abs, []string{writePragmas[0], "query_only(1)"}, ""))
		if err != nil {
			s.write.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		s.read.SetMaxOpenConns(readConns)
		s.read.SetMaxIdleConns(readConns)
	}
	// One writer; its connection is never closed for being idle, which
	// for Memory would drop the database.
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)

	if err := s.setUp(ctx, migrations); err != nil {
		s.Close()
		if sqliteCode(err) == sqlite3.SQLITE_NOTADB {
			return nil, &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("%s is not an SQLite database", path),
				Hint:    "pass --db a ripcord database, or a path where one can be created"}
		}
		return nil, err
	}
	return s, nil
}

// setUp puts a database file in WAL mode and migrates it.
func (s *Store) setUp(ctx context.Context, migrations []migration) error {
	if s.path != Memory {
		if err := enableWAL(ctx, s.write, s.path); err != nil {
			return err
		}
	}
	return migrate(ctx, s.write, s.path, migrations)
}

// enableWAL puts the database in WAL mode, which the file keeps. When
// processes create the same file at once, SQLite may answer one of them
// SQLITE_BUSY at once instead of waiting (it will not wait for a write lock
// while holding a read lock, lest two waiters deadlock), so a busy answer
// is retried for up to busyTimeout. Once the file is in WAL mode the pragma
// takes no lock.
func enableWAL(ctx context.Context, db *sql.DB, path string) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil {
			if mode != "wal" {
				return &ripcord.Error{Code: ripcord.EINVALID,
					Message: fmt.Sprintf("%s: SQLite cannot use WAL mode there (journal mode %s)", path, mode),
					Hint:    "put the database on a local file system"}
			}
			return nil
		}
		if sqliteCode(err) != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return fmt.Errorf("open %s: WAL mode: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("open %s: WAL mode: %w", path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sqliteCode returns the primary SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	var se *modernc.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// dsn returns the modernc.org/sqlite data source name for path with the
// given pragmas (run on every new connection) and transaction lock mode.
func dsn(path string, pragmas []string, txlock string) string {
	q := url.Values{"_pragma": pragmas}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	if path == Memory {
		return Memory + "?" + q.Encode()
	}
	// A file: URI, so that any character in the path (?, #, %) is escaped
	// rather than read as the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if u.Path[0] != '/' {
		u.Path = "/" + u.Path // C:/... on Windows
	}
	return u.String()
}

// Close closes the database. Calls after Close return errors.
func (s *Store) Close() error {
	s.notes.close()
	var errs []error
	if s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// DefaultPath returns where ripcord keeps its database when --db is not
// given: $XDG_STATE_HOME/ripcord/ripcord.db, or, when XDG_STATE_HOME is
// unset or not absolute (the XDG spec says to ignore a relative one),
// ~/.local/state/ripcord/ripcord.db.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "ripcord", "ripcord.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default database path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "ripcord", "ripcord.db"), nil
}

func defaultPathHint() string {
	if p, err := DefaultPath(); err == nil {
		return p
	}
	return "$XDG_STATE_HOME/ripcord/ripcord.db"
}

// Times are stored as fixed-width UTC text with microseconds, so that the
// text sorts as the times compare.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return ripcord.StoreTime(t).Format(timeLayout) }

// formatTimeOrNull returns nil for the zero time, for nullable columns.
func formatTimeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t, nil
}

// jsonOrNull returns nil for empty JSON, for nullable columns. JSON is bound
// as a string: the columns are TEXT in STRICT tables.
func jsonOrNull(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// textOrNull returns nil for the empty string, for nullable columns where
// empty means none.
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonFrom returns the JSON read from a nullable column; nil when NULL.
func jsonFrom(s sql.NullString) []byte {
	if !s.Valid {
		return nil
	}
	return []byte(s.String)
}
