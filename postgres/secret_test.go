package postgres

import (
	"bytes"
	"context"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

// TestImportServerSecret: an imported secret is the one ServerSecret
// returns; importing it again is fine, another one is ECONFLICT and a
// secret of the wrong size EINVALID, both changing nothing. A second
// store on the same database returns the same secret.
func TestImportServerSecret(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := openStore(t, dsn)
	secret := bytes.Repeat([]byte{7}, ripcord.ServerSecretSize)
	if err := s.ImportServerSecret(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportServerSecret(ctx, secret); err != nil {
		t.Errorf("importing the same secret again: %v", err)
	}
	other := bytes.Repeat([]byte{8}, ripcord.ServerSecretSize)
	if err := s.ImportServerSecret(ctx, other); ripcord.ErrorCode(err) != ripcord.ECONFLICT || ripcord.ErrorHint(err) == "" {
		t.Errorf("importing another secret: %v; want ECONFLICT with a hint", err)
	}
	if err := s.ImportServerSecret(ctx, []byte("short")); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("importing a short secret: %v; want EINVALID", err)
	}
	for _, st := range []*Store{s, openStore(t, dsn)} {
		if got, err := st.ServerSecret(ctx); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("ServerSecret after the import: %x, %v; want the imported %x", got, err, secret)
		}
	}
}
