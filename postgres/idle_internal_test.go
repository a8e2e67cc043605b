package postgres

import (
	"context"
	"testing"

	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

// TestIdleInTransactionTimeout: the store's sessions carry PostgreSQL's
// idle_in_transaction_session_timeout, so that a replica frozen inside a
// transaction cannot hold its row locks (and so the executions they guard)
// for longer; a connection string's own setting wins.
func TestIdleInTransactionTimeout(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ param, want string }{
		{"", "5s"},
		{"idle_in_transaction_session_timeout=7000", "7s"},
	} {
		dsn := pgtest.Database(t)
		if tc.param != "" {
			dsn += "&" + tc.param
		}
		st, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = st.pool.QueryRow(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&got)
		st.Close()
		if err != nil || got != tc.want {
			t.Errorf("with %q: idle_in_transaction_session_timeout %q, %v; want %s", tc.param, got, err, tc.want)
		}
	}
}
