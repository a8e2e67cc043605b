// Package postgres implements ripcord.Store, with its AuthStore and
// ClusterStore parts, on PostgreSQL, for several ripcord serve replicas
// sharing one store. It uses github.com/jackc/pgx/v5 and a pgxpool.
//
// A store is one schema of one database: the tables live in the first
// existing schema of the connection's search_path (public by default; pass
// search_path in the DSN for another). It holds what the sqlite package's
// file holds (plan versions, executions with their append-only event logs
// and leases, API tokens, the audit log) and the replicas' registry and
// named mutexes. The schema is created and upgraded by embedded, numbered
// migrations (migrations/0001_init.sql, ...) applied by [Open] or [Migrate]
// in one transaction under an advisory lock, so that replicas starting
// together migrate once; a schema newer than this ripcord knows is always
// refused. The schema itself keeps event logs and the audit log gapless and
// append-only, lease epochs and mutex generations growing, revoked tokens
// revoked, and at most one live execution per exclusive key, whatever code
// writes to it.
//
// Every write about an execution first locks the execution's row (SELECT
// ... FOR NO KEY UPDATE), so that the writers of one execution (appenders,
// lease holders, on any replica) queue there as the sqlite store's single
// writer queues them, and each then reads, in a later statement, what the
// one before it committed. Leases, mutexes, heartbeats, token and audit
// dates are judged on the store's clock: the database's (clock_timestamp())
// unless [WithClock] gives another, never the caller's.
//
// Notes between replicas (ripcord.Note) are PostgreSQL notifications on one
// channel, sent inside the transaction that makes the change (so delivered
// on commit) and received by one listener connection per Store; see
// [Store.Subscribe].
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ripcord-dr/ripcord"
)

// Store is a ripcord.Store on one PostgreSQL schema.
type Store struct {
	pool *pgxpool.Pool

	// where names the database for messages: host, port, database and
	// schema, never the password.
	where string
	// schema is the schema the store's tables are in.
	schema string
	// channel is the notification channel of the store's notes.
	channel string

	// now is the store's clock when WithClock gave one; nil means the
	// database's clock_timestamp().
	now func() time.Time
	// migrate: Open applies pending migrations (the default).
	migrate bool

	notes *notifier // the listener and its subscribers, started lazily

	closeOnce sync.Once
}

// Option configures a Store in [Open].
type Option func(*Store)

// WithClock makes now the store's clock, on which leases, mutexes and
// heartbeats are judged and tokens and audit entries dated; tests pass a
// manual clock. The default is the database server's clock
// (clock_timestamp()), the one clock all replicas share.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithoutMigrate makes Open refuse a schema older than this ripcord knows,
// instead of migrating it: for replicas that must not change the schema
// (`ripcord migrate` does). A newer schema is refused either way.
func WithoutMigrate() Option {
	return func(s *Store) { s.migrate = false }
}

var (
	_ ripcord.Store        = (*Store)(nil)
	_ ripcord.ClusterStore = (*Store)(nil)
)

// Open connects to the PostgreSQL database named by dsn (a URL such as
// postgres://user@host:5432/ripcord?sslmode=verify-full, or key=value
// pairs, as libpq takes them; pool_max_conns and the other pgxpool
// parameters are honoured) and brings its schema up to date, unless
// [WithoutMigrate].
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := parseConfig(dsn)
	if err != nil {
		return nil, err
	}
	ms, err := embedded()
	if err != nil {
		return nil, err // a bug in the build, not the caller's
	}
	s := &Store{migrate: true, where: describe(cfg.ConnConfig)}
	for _, o := range opts {
		o(s)
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.where, err)
	}
	v, err := migrateSchema(ctx, s.pool, s.where, ms, s.migrate)
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	s.schema = v.schema
	s.where = fmt.Sprintf("%s (schema %s)", s.where, v.schema)
	s.channel = channelName(v.schema)
	s.notes = newNotifier(s)
	return s, nil
}

// parseConfig parses a DSN, refusing a malformed one as the caller's
// error. pgconn's parse errors do not repeat the password.
func parseConfig(dsn string) (*pgxpool.Config, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "postgres: no connection string",
			Hint: "pass a PostgreSQL URL, e.g. postgres://ripcord@db.example.com:5432/ripcord?sslmode=verify-full"}
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("postgres: bad connection string: %v", err),
			Hint: "pass a PostgreSQL URL, e.g. postgres://ripcord@db.example.com:5432/ripcord?sslmode=verify-full"}
	}
	// A replica frozen in the middle of a transaction (a stopped process,
	// a VM paused, a network cut) must not hold its row locks until it
	// wakes: the other replicas could not take its executions over. The
	// server ends such a transaction after IdleInTransactionTimeout (a
	// connection string's own setting wins).
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.Itoa(int(IdleInTransactionTimeout / time.Millisecond))
	}
	return cfg, nil
}

// IdleInTransactionTimeout is how long PostgreSQL lets a session of the
// store sit in an open transaction without a statement before it ends the
// session: every transaction of the store runs its statements back to back,
// so only a frozen or cut-off process reaches it.
const IdleInTransactionTimeout = 5 * time.Second

// describe names the database a connection config reaches, for messages.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres %s:%d/%s", c.Host, c.Port, c.Database)
}

// channelName is the notification channel of the store in schema: NOTIFY
// reaches every session of the database, so stores in other schemas of it
// must not hear each other. A channel name has at most 63 bytes.
func channelName(schema string) string {
	c := "ripcord"
	if schema != "public" {
		c += ":" + schema
	}
	if len(c) > 63 {
		c = c[:63]
	}
	return c
}

// Close closes the store: the listener, every subscription and the pool.
// Calls after Close return errors; a second Close does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.notes.close()
		s.pool.Close()
	})
	return nil
}

// Where names the database and schema the store uses (never the
// password), as its messages do.
func (s *Store) Where() string { return s.where }

// clockArg is the store's clock as a query argument: nil when the
// database's clock is the store's, so that the SQL's
// coalesce($n, clock_timestamp()) reads it.
func (s *Store) clockArg() any {
	if s.now == nil {
		return nil
	}
	return ripcord.StoreTime(s.now())
}

// nowSQL is the SQL that reads the store's clock from argument n (see
// clockArg).
func nowSQL(n int) string {
	return fmt.Sprintf("coalesce($%d::timestamptz, clock_timestamp())", n)
}

// Error mapping.

// pgError returns the PostgreSQL error in err's chain, or nil.
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// constraintViolated reports whether err is PostgreSQL refusing a write
// for the named constraint (or trigger raising under that name).
func constraintViolated(err error, name string) bool {
	pe := pgError(err)
	return pe != nil && pe.ConstraintName == name
}

// SQLSTATEs the store tells apart.
const (
	sqlUniqueViolation   = "23505"
	sqlBadEncoding       = "22021" // character_not_in_repertoire: not UTF-8
	sqlUntranslatable    = "22P05"
	sqlProgramLimit      = "54000" // e.g. a key too long for a btree index
	sqlInvalidSchemaName = "3F000"
)

// wrap wraps err of the operation what, turning what PostgreSQL refuses in
// the caller's input into EINVALID (the checks in Go should have caught
// it first).
func wrap(what string, err error) error {
	if pe := pgError(err); pe != nil {
		switch pe.Code {
		case sqlBadEncoding, sqlUntranslatable:
			return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: %s", what, pe.Message),
				Hint: "text must be valid UTF-8 without NUL bytes"}
		case sqlProgramLimit:
			return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: %s", what, pe.Message),
				Hint: "a key, ID or name this long cannot be indexed; use a shorter one"}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Times.

// utc returns a time read from the database as the store returns times.
func utc(t time.Time) time.Time { return ripcord.StoreTime(t) }

// utcOrZero returns a nullable time read from the database: zero when NULL.
func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return utc(*t)
}

// timeOrNull returns nil for the zero time, for nullable columns.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ripcord.StoreTime(t)
}

// textOrNull returns nil for the empty string, for nullable columns where
// empty means none (JSON, exclusive keys).
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func textFrom(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonFrom returns the JSON read from a nullable column; nil when NULL.
func jsonFrom(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// checkText reports whether s can be stored as text: PostgreSQL keeps
// only valid UTF-8 without NUL bytes.
func checkText(name, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("the %s is not valid UTF-8", name)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("the %s contains a NUL byte", name)
	}
	return nil
}

// checkTexts checks pairs of (name, value) with checkText.
func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
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

// checkOptionalTime is checkTime for a time that may be zero (none).
func checkOptionalTime(t time.Time, name string) error {
	if t.IsZero() {
		return nil
	}
	return checkTime(t, name)
}

// micros is d in whole microseconds, for intervals: now+micros(d) is
// ripcord.StoreTime(now.Add(d)) for a now that is a store time.
func micros(d time.Duration) int64 {
	return int64(d / time.Microsecond)
}

// rollback ends tx after a failure; its own error is of no interest then
// (the connection is dropped by the pool if the rollback failed).
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// pipeTx is a transaction whose BEGIN travels in the batch of its first
// statements and whose COMMIT in the batch of its last ones, so that a
// write of two batches (read under a lock, then write) costs two round
// trips rather than four: Append's. Its statements run as they would in a
// pgx.Tx, each with its own snapshot.
type pipeTx struct {
	conn      *pgxpool.Conn // nil once ended
	begun     bool
	committed bool
}

// beginPipe acquires a connection for a pipeTx; close it with end.
func (s *Store) beginPipe(ctx context.Context) (*pipeTx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pipeTx{conn: conn}, nil
}

// SendBatch sends b, after BEGIN if it is the transaction's first.
func (p *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if p.begun {
		return p.conn.SendBatch(ctx, b)
	}
	p.begun = true
	withBegin := &pgx.Batch{}
	withBegin.Queue(`BEGIN`)
	withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
	br := p.conn.SendBatch(ctx, withBegin)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return pgx.FailedBatchResults(b, err)
	}
	return br
}

// commit runs the statements of b, all of which return no rows that
// matter, and COMMIT after them, in one round trip.
func (p *pipeTx) commit(ctx context.Context, b *pgx.Batch) error {
	b.Queue(`COMMIT`)
	if err := runBatch(p.SendBatch(ctx, b), b.Len()); err != nil {
		return err
	}
	p.committed = true
	return nil
}

// end rolls back what was not committed and gives the connection back
// (the pool drops one left in a transaction). A second end does nothing.
func (p *pipeTx) end() {
	if p.conn == nil {
		return
	}
	if p.begun && !p.committed {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = p.conn.Exec(ctx, `ROLLBACK`)
		cancel()
	}
	p.conn.Release()
	p.conn = nil
}

// batcher sends batches: a pgx.Tx or a pipeTx.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}
