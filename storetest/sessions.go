package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// testSessions: a console session is stored with the store's time as
// Created, read back by its hash byte for byte, deleted (twice is fine),
// and removed once expired by the next CreateSession. A taken hash is
// ECONFLICT; malformed sessions are EINVALID and store nothing.
func testSessions(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	a := ripcord.Session{Hash: ripcord.TokenHash("cookie-a"), TokenHash: ripcord.TokenHash("token"), CSRF: "csrf-a",
		Created: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // ignored: the store dates it
		Expires: clock.Now().Add(12 * time.Hour)}
	if err := s.CreateSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByHash(ctx, a.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Hash, a.Hash) || !bytes.Equal(got.TokenHash, a.TokenHash) || got.CSRF != a.CSRF ||
		!got.Created.Equal(ripcord.StoreTime(clock.Now())) || !got.Expires.Equal(ripcord.StoreTime(a.Expires)) || got.Expires.Location() != time.UTC {
		t.Errorf("session read back as %+v; want %+v created at %s", got, a, clock.Now())
	}
	if err := s.CreateSession(ctx, a); ripcord.ErrorCode(err) != ripcord.ECONFLICT {
		t.Errorf("a session with a taken hash: %v; want ECONFLICT", err)
	}
	for name, bad := range map[string]ripcord.Session{
		"short hash":       {Hash: []byte("x"), TokenHash: a.TokenHash, CSRF: "c", Expires: a.Expires},
		"no token hash":    {Hash: ripcord.TokenHash("b"), CSRF: "c", Expires: a.Expires},
		"no csrf":          {Hash: ripcord.TokenHash("b"), TokenHash: a.TokenHash, Expires: a.Expires},
		"expired at birth": {Hash: ripcord.TokenHash("b"), TokenHash: a.TokenHash, CSRF: "c", Expires: clock.Now().Add(-time.Second)},
	} {
		err := s.CreateSession(ctx, bad)
		if ripcord.ErrorCode(err) != ripcord.EINVALID || ripcord.ErrorHint(err) == "" {
			t.Errorf("%s: %v; want EINVALID with a hint", name, err)
		}
		if _, err := s.SessionByHash(ctx, bad.Hash); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
			t.Errorf("%s: a refused session was stored (%v)", name, err)
		}
	}

	// An expired session stays readable (the caller judges) until the next
	// CreateSession removes it.
	b := ripcord.Session{Hash: ripcord.TokenHash("cookie-b"), TokenHash: a.TokenHash, CSRF: "csrf-b", Expires: clock.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, b); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := s.SessionByHash(ctx, b.Hash); err != nil {
		t.Errorf("an expired session before the next sign-in: %v; want it returned", err)
	}
	c := ripcord.Session{Hash: ripcord.TokenHash("cookie-c"), TokenHash: a.TokenHash, CSRF: "csrf-c", Expires: clock.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, b.Hash); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Errorf("an expired session after the next sign-in: %v; want ENOTFOUND", err)
	}
	if _, err := s.SessionByHash(ctx, a.Hash); err != nil {
		t.Errorf("a live session after the next sign-in: %v", err)
	}

	if err := s.DeleteSession(ctx, a.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, a.Hash); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
	if _, err := s.SessionByHash(ctx, a.Hash); ripcord.ErrorCode(err) != ripcord.ENOTFOUND || ripcord.ErrorHint(err) == "" {
		t.Errorf("a deleted session: %v; want ENOTFOUND with a hint", err)
	}
}
