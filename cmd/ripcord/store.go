package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// isPostgres reports whether a --db value names a PostgreSQL database (a
// URL, postgres:// or postgresql://) rather than an SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStoreAt opens the store a --db value names: a PostgreSQL URL, an
// SQLite file, or (empty) the default SQLite file. PostgreSQL's schema is
// brought up to date when opened unless noMigrate; a schema newer than this
// ripcord knows is always refused.
func openStoreAt(ctx context.Context, db string, noMigrate bool) (ripcord.Store, error) {
	if isPostgres(db) {
		var opts []postgres.Option
		if noMigrate {
			opts = append(opts, postgres.WithoutMigrate())
		}
		st, err := postgres.Open(ctx, db, opts...)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", redactDSN(db), err)
		}
		return st, nil
	}
	path := db
	if path == "" {
		p, err := sqlite.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return st, nil
}

// redactDSN hides a password in a PostgreSQL URL, for messages.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":***" + dsn[at:]
	}
	return dsn
}

func newMigrateCmd() *cobra.Command {
	var db string
	var check bool
	cmd := &cobra.Command{
		Use:   "migrate --db postgres://...",
		Short: "Bring a store's schema up to date",
		Long: `migrate applies the schema changes this ripcord knows to the store named by
--db, once, under a lock, so that it is safe while replicas start. Replicas
refuse to run on a schema newer than they know: upgrade ripcord everywhere
before migrating, or migrate, then upgrade. With --check it only reports
the versions and exits 1 when changes are pending.

An SQLite store is brought up to date whenever it is opened; migrate opens
it.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if !isPostgres(db) {
				st, err := openStoreAt(ctx, db, false)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "SQLite store %s is up to date\n", storeName(db))
				return st.Close()
			}
			have, err := postgres.SchemaVersion(ctx, db)
			if err != nil {
				return err
			}
			known := postgres.KnownVersion()
			if check {
				fmt.Fprintf(out, "schema version %d; this ripcord knows %d\n", have, known)
				if have < known {
					return &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf("%d schema changes are pending", known-have),
						Hint: "apply them with: ripcord migrate --db URL"}
				}
				return nil
			}
			from, to, err := postgres.Migrate(ctx, db)
			if err != nil {
				return err
			}
			if from == to {
				fmt.Fprintf(out, "schema version %d: up to date\n", to)
			} else {
				fmt.Fprintf(out, "schema version %d -> %d\n", from, to)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the store: a postgres:// URL or an SQLite file (default: the default SQLite store)")
	cmd.Flags().BoolVar(&check, "check", false, "only report the schema version; exit non-zero when changes are pending")
	return cmd
}

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Move a store",
		Args:  usageArgs(cobra.NoArgs),
	}
	var from, to string
	copyCmd := &cobra.Command{
		Use:   "copy --from FILE.db --to postgres://...",
		Short: "Copy an SQLite store into PostgreSQL, without loss",
		Long: `copy moves everything an SQLite store holds into an empty PostgreSQL store:
plan versions, executions with every event (numbers, times and data byte for
byte), API tokens (their hashes: the same tokens keep working) and the audit
log (numbers and times kept). Then it reads both stores back and compares
them, and says what it copied.

Stop every ripcord process that uses the SQLite store first: copy refuses a
store where an execution is being driven (a live lease). Leases are not
copied: the first replica to drive an execution takes a new one. Console
sessions are not copied either: people sign in again.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if isPostgres(from) {
				return errInvalid("--from %s is a PostgreSQL URL: copy moves an SQLite store (a file) into PostgreSQL", redactDSN(from))
			}
			if !isPostgres(to) {
				return errInvalid("--to %q is not a postgres:// URL: copy moves an SQLite store into PostgreSQL", to)
			}
			src, err := openStoreAt(ctx, from, false)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := postgres.Open(ctx, to)
			if err != nil {
				return fmt.Errorf("open store %s: %w", redactDSN(to), err)
			}
			defer dst.Close()
			n, err := copyStore(ctx, src, dst, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %d plan versions, %d executions (%d events), %d notification deliveries, %d tokens and %d audit entries from %s to %s; read back and compared: equal\n",
				n.plans, n.execs, n.events, n.deliveries, n.tokens, n.audit, storeName(from), redactDSN(to))
			return nil
		},
	}
	copyCmd.Flags().StringVar(&from, "from", "", "the SQLite store to copy (default: the default SQLite store)")
	copyCmd.Flags().StringVar(&to, "to", "", "the PostgreSQL store to copy into, postgres://...")
	cmd.AddCommand(copyCmd)
	return cmd
}

type copied struct{ plans, execs, events, tokens, audit, deliveries int }

// copyStore copies src into dst (empty), then reads both back and compares
// them. now judges whether an execution's lease is live.
func copyStore(ctx context.Context, src ripcord.Store, dst *postgres.Store, now time.Time) (copied, error) {
	var n copied
	execs, err := src.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil {
		return n, err
	}
	for _, x := range execs {
		l, err := src.Lease(ctx, x.ID)
		if err != nil {
			return n, err
		}
		if l.Live(now) {
			return n, &ripcord.Error{Code: ripcord.ECONFLICT,
				Message: fmt.Sprintf("execution %s is being driven by %s (lease until %s)", x.ID, l.Owner, l.Expires.Format(time.RFC3339)),
				Hint:    "stop every ripcord process that uses this store (or wait for the execution to end), then copy again"}
		}
	}
	plans, err := src.ListPlanVersions(ctx, "")
	if err != nil {
		return n, err
	}
	slices.Reverse(plans) // oldest first
	for _, v := range plans {
		if err := dst.ImportPlanVersion(ctx, v); err != nil {
			return n, fmt.Errorf("plan version %s: %w", v.Hash, err)
		}
		n.plans++
	}
	slices.Reverse(execs) // oldest first
	for _, x := range execs {
		evs, err := src.Events(ctx, x.ID, 0, 0)
		if err != nil {
			return n, err
		}
		if err := dst.ImportExecution(ctx, x, evs); err != nil {
			return n, fmt.Errorf("execution %s: %w", x.ID, err)
		}
		n.execs++
		n.events += len(evs)
	}
	// Notification deliveries: of each execution, and of each plan's
	// readiness; so that the copy does not send again what was sent.
	for _, id := range deliveryKeys(execs, plans) {
		dels, err := src.ListDeliveries(ctx, id)
		if err != nil {
			return n, err
		}
		for _, d := range dels {
			if err := dst.ImportDelivery(ctx, d); err != nil {
				return n, fmt.Errorf("delivery %s/%d: %w", d.ExecutionID, d.Seq, err)
			}
			n.deliveries++
		}
	}
	tokens, err := src.ListTokens(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range tokens {
		if err := dst.ImportToken(ctx, t); err != nil {
			return n, fmt.Errorf("token %s: %w", t.ID, err)
		}
		n.tokens++
	}
	// The server secret, so that approval links sent before the copy
	// stay valid (a source without one makes it here).
	secret, err := src.ServerSecret(ctx)
	if err != nil {
		return n, err
	}
	if err := dst.ImportServerSecret(ctx, secret); err != nil {
		return n, err
	}
	audit, err := src.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil {
		return n, err
	}
	for _, e := range audit {
		if err := dst.ImportAudit(ctx, e); err != nil {
			return n, fmt.Errorf("audit entry %d: %w", e.Seq, err)
		}
		n.audit++
	}
	return n, compareStores(ctx, src, dst)
}

// compareStores reads both stores back and reports the first difference.
func compareStores(ctx context.Context, a, b ripcord.Store) error {
	differ := func(what string, x, y any) error {
		return &ripcord.Error{Code: ripcord.EINTERNAL, Message: fmt.Sprintf("after the copy, %s differs: %v vs %v", what, x, y),
			Hint: "nothing was removed from the SQLite store; drop the PostgreSQL database, and report this"}
	}
	pa, err := a.ListPlanVersions(ctx, "")
	if err != nil {
		return err
	}
	pb, err := b.ListPlanVersions(ctx, "")
	if err != nil {
		return err
	}
	if !slices.EqualFunc(pa, pb, func(x, y ripcord.PlanVersion) bool {
		return x.Hash == y.Hash && x.Name == y.Name && x.Created.Equal(y.Created) && bytes.Equal(x.Source, y.Source)
	}) {
		return differ("the plan versions", len(pa), len(pb))
	}
	xa, err := a.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil {
		return err
	}
	xb, err := b.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil {
		return err
	}
	if len(xa) != len(xb) {
		return differ("the number of executions", len(xa), len(xb))
	}
	for i := range xa {
		x, y := xa[i], xb[i]
		if x.ID != y.ID || x.State != y.State || x.LastSeq != y.LastSeq || !x.Started.Equal(y.Started) || !x.Ended.Equal(y.Ended) || !bytes.Equal(x.Summary, y.Summary) {
			return differ("execution "+x.ID, x, y)
		}
		ea, err := a.Events(ctx, x.ID, 0, 0)
		if err != nil {
			return err
		}
		eb, err := b.Events(ctx, x.ID, 0, 0)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(ea, eb, func(p, q ripcord.Event) bool {
			return p.Seq == q.Seq && p.Type == q.Type && p.Actor == q.Actor && p.At.Equal(q.At) && bytes.Equal(p.Data, q.Data)
		}) {
			return differ("the events of execution "+x.ID, len(ea), len(eb))
		}
	}
	plans, err := a.ListPlanVersions(ctx, "")
	if err != nil {
		return err
	}
	for _, id := range deliveryKeys(xa, plans) {
		da, err := a.ListDeliveries(ctx, id)
		if err != nil {
			return err
		}
		db, err := b.ListDeliveries(ctx, id)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(da, db, func(x, y ripcord.Delivery) bool {
			return x.ExecutionID == y.ExecutionID && x.Seq == y.Seq && x.Destination == y.Destination && x.Kind == y.Kind &&
				x.Status == y.Status && x.Attempts == y.Attempts && x.LastError == y.LastError && x.Holder == y.Holder &&
				x.ClaimExpires.Equal(y.ClaimExpires) && x.Created.Equal(y.Created) && x.Updated.Equal(y.Updated)
		}) {
			return differ("the notification deliveries of "+id, len(da), len(db))
		}
	}
	sa, err := a.ServerSecret(ctx)
	if err != nil {
		return err
	}
	sb, err := b.ServerSecret(ctx)
	if err != nil {
		return err
	}
	if !bytes.Equal(sa, sb) {
		return differ("the server secret", "(secret)", "(another secret)")
	}
	ta, err := a.ListTokens(ctx)
	if err != nil {
		return err
	}
	tb, err := b.ListTokens(ctx)
	if err != nil {
		return err
	}
	if !slices.EqualFunc(ta, tb, func(x, y ripcord.Token) bool {
		return x.ID == y.ID && x.Name == y.Name && x.Role == y.Role && bytes.Equal(x.Hash, y.Hash) &&
			x.Created.Equal(y.Created) && x.Expires.Equal(y.Expires) && x.Revoked.Equal(y.Revoked)
	}) {
		return differ("the tokens", len(ta), len(tb))
	}
	aa, err := a.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil {
		return err
	}
	ab, err := b.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil {
		return err
	}
	if !slices.EqualFunc(aa, ab, func(x, y ripcord.AuditEntry) bool {
		return x.Seq == y.Seq && x.At.Equal(y.At) && x.Actor == y.Actor && x.Action == y.Action && x.Object == y.Object && x.Remote == y.Remote && x.Detail == y.Detail
	}) {
		return differ("the audit log", len(aa), len(ab))
	}
	return nil
}

// deliveryKeys lists what notification deliveries are kept under: each
// execution's ID, and "readiness:" and each plan's name.
func deliveryKeys(execs []ripcord.Execution, plans []ripcord.PlanVersion) []string {
	var out []string
	for _, x := range execs {
		out = append(out, x.ID)
	}
	seen := map[string]bool{}
	for _, v := range plans {
		if !seen[v.Name] {
			seen[v.Name] = true
			out = append(out, "readiness:"+v.Name)
		}
	}
	return out
}
