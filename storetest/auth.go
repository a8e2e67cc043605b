package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// The AuthStore part of the suite: API tokens, the audit log, and plan
// versions listed by plan.

// newToken returns a valid token: a viewer named after id that never
// expires.
func newToken(id string) ripcord.Token {
	return ripcord.Token{ID: id, Name: "name of " + id, Role: ripcord.RoleViewer, Hash: ripcord.TokenHash("secret of " + id)}
}

// createToken creates t and returns it as the store must return it: created
// now on the store's clock, its expiry as the store keeps times.
func createToken(t *testing.T, s ripcord.Store, clock *Clock, tok ripcord.Token) ripcord.Token {
	t.Helper()
	if err := s.CreateToken(context.Background(), tok); err != nil {
		t.Fatalf("CreateToken(%s): %v", tok.ID, err)
	}
	tok.Hash = bytes.Clone(tok.Hash)
	tok.Created = ripcord.StoreTime(clock.Now())
	if !tok.Expires.IsZero() {
		tok.Expires = ripcord.StoreTime(tok.Expires)
	}
	return tok
}

// checkToken fails unless got is want, byte for byte, its times in UTC.
func checkToken(t *testing.T, what string, got, want ripcord.Token) {
	t.Helper()
	same := got.ID == want.ID && got.Name == want.Name && got.Role == want.Role && bytes.Equal(got.Hash, want.Hash) &&
		got.Created.Equal(want.Created) && got.Expires.Equal(want.Expires) && got.Revoked.Equal(want.Revoked) &&
		got.Expires.IsZero() == want.Expires.IsZero() && got.Revoked.IsZero() == want.Revoked.IsZero()
	for _, tm := range []time.Time{got.Created, got.Expires, got.Revoked} {
		same = same && (tm.IsZero() || tm.Location() == time.UTC)
	}
	if !same {
		t.Fatalf("%s =\n%+v\nwant\n%+v (byte for byte, times in UTC to the microsecond)", what, got, want)
	}
}

func tokenByHash(t *testing.T, s ripcord.Store, hash []byte) ripcord.Token {
	t.Helper()
	tok, err := s.TokenByHash(context.Background(), hash)
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	return tok
}

func listTokens(t *testing.T, s ripcord.Store) []ripcord.Token {
	t.Helper()
	list, err := s.ListTokens(context.Background())
	if err != nil {
		t.Fatalf("ListTokens: %v", err)
	}
	if list == nil {
		t.Fatal("ListTokens returned nil; want a slice, empty when there are no tokens")
	}
	return list
}

// checkTokens fails unless ListTokens returns want, in order.
func checkTokens(t *testing.T, s ripcord.Store, want ...ripcord.Token) {
	t.Helper()
	list := listTokens(t, s)
	if len(list) != len(want) {
		ids := make([]string, len(list))
		for i, tok := range list {
			ids[i] = tok.ID
		}
		t.Fatalf("ListTokens returned %d tokens %v, want %d", len(list), ids, len(want))
	}
	for i := range want {
		checkToken(t, fmt.Sprintf("ListTokens[%d]", i), list[i], want[i])
	}
}

func testTokens(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	checkTokens(t, s) // none yet

	ist := time.FixedZone("IST", 5*3600+1800)
	binary := make([]byte, 32) // every byte value a hash may hold: 0x00, 0xff...
	for i := range binary {
		binary[i] = byte(i * 8)
	}
	binary[31] = 0xff
	admin := ripcord.Token{ID: "tok_3f2a", Name: "alice", Role: ripcord.RoleAdmin, Hash: binary,
		Created: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)} // ignored: the store dates it
	ci := ripcord.Token{ID: "tok_9c1e", Name: "ci-pipeline — nightly drill ✓ 日本", Role: ripcord.RoleOperator,
		Hash: ripcord.TokenHash("ci"), Expires: at(90 * 24 * time.Hour).In(ist)} // nanoseconds, another zone
	rec := ripcord.Token{ID: "tok_0001", Name: `o'brien "the recoverer"; DROP TABLE tokens; --`, Role: ripcord.RoleRecovery,
		Hash: ripcord.TokenHash("recovery")}
	// Two created at the same moment: the ID breaks the tie.
	tieB, tieA := newToken("tok_b"), newToken("tok_a")

	var want []ripcord.Token
	for _, tok := range []ripcord.Token{admin, ci, rec} {
		want = append(want, createToken(t, s, clock, tok))
		clock.Advance(time.Minute + time.Nanosecond)
	}
	want = append(want, createToken(t, s, clock, tieB), createToken(t, s, clock, tieA))
	want[3], want[4] = want[4], want[3]

	if !want[0].Created.Equal(ripcord.StoreTime(t0)) {
		t.Fatalf("test bug: the first token should be created at t0, not %v", want[0].Created)
	}
	checkTokens(t, s, want...)
	for _, w := range want {
		checkToken(t, "TokenByHash("+w.ID+")", tokenByHash(t, s, w.Hash), w)
	}

	// What the caller does with its slices afterwards changes nothing.
	got := tokenByHash(t, s, binary)
	got.Hash[0] = 0x42
	binary[1] = 0x42
	checkToken(t, "TokenByHash after the caller changed its slices", tokenByHash(t, s, want[0].Hash), want[0])

	for name, hash := range map[string][]byte{
		"an unknown hash":        ripcord.TokenHash("never issued"),
		"no hash":                nil,
		"a prefix of a hash":     want[1].Hash[:16],
		"a hash one bit away":    append(bytes.Clone(want[1].Hash[:31]), want[1].Hash[31]^1),
		"the secret, not a hash": []byte("ci"),
	} {
		t.Run("TokenByHash of "+name, func(t *testing.T) {
			_, err := s.TokenByHash(ctx, hash)
			wantCode(t, err, ripcord.ENOTFOUND)
		})
	}
}

// testTokenConflict: a token whose ID or hash is taken is refused, and
// nothing of it is stored.
func testTokenConflict(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	first := createToken(t, s, clock, ripcord.Token{ID: "tok_1", Name: "alice", Role: ripcord.RoleAdmin, Hash: ripcord.TokenHash("alice")})
	clock.Advance(time.Second)
	tests := []struct {
		name string
		tok  ripcord.Token
	}{
		{"the same ID", ripcord.Token{ID: "tok_1", Name: "mallory", Role: ripcord.RoleViewer, Hash: ripcord.TokenHash("mallory")}},
		{"the same hash", ripcord.Token{ID: "tok_2", Name: "mallory", Role: ripcord.RoleViewer, Hash: ripcord.TokenHash("alice")}},
		{"the same ID and hash", ripcord.Token{ID: "tok_1", Name: "alice", Role: ripcord.RoleAdmin, Hash: ripcord.TokenHash("alice")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, s.CreateToken(ctx, tt.tok), ripcord.ECONFLICT)
			checkTokens(t, s, first)
			checkToken(t, "TokenByHash of the first token", tokenByHash(t, s, first.Hash), first)
			if !bytes.Equal(tt.tok.Hash, first.Hash) {
				_, err := s.TokenByHash(ctx, tt.tok.Hash)
				wantCode(t, err, ripcord.ENOTFOUND)
			}
		})
	}
	// A conflict about the hash must not print it.
	err := s.CreateToken(ctx, tests[1].tok)
	for _, h := range []string{fmt.Sprintf("%x", first.Hash), fmt.Sprintf("%X", first.Hash), string(first.Hash)} {
		if strings.Contains(err.Error(), h) || strings.Contains(ripcord.ErrorHint(err), h) {
			t.Errorf("the refusal of a taken hash shows the hash: %v", err)
		}
	}
}

func testTokenInvalid(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*ripcord.Token)
	}{
		{"no ID", func(tok *ripcord.Token) { tok.ID = "" }},
		{"no name", func(tok *ripcord.Token) { tok.Name = "" }},
		{"no role", func(tok *ripcord.Token) { tok.Role = "" }},
		{"unknown role", func(tok *ripcord.Token) { tok.Role = "root" }},
		{"role in capitals", func(tok *ripcord.Token) { tok.Role = "Admin" }},
		{"no hash", func(tok *ripcord.Token) { tok.Hash = nil }},
		{"hash of 31 bytes", func(tok *ripcord.Token) { tok.Hash = tok.Hash[:31] }},
		{"hash of 33 bytes", func(tok *ripcord.Token) { tok.Hash = append(tok.Hash, 0) }},
		{"hash in hex", func(tok *ripcord.Token) { tok.Hash = fmt.Appendf(nil, "%x", tok.Hash) }},
		{"already revoked", func(tok *ripcord.Token) { tok.Revoked = t0 }},
		{"expires in the year 10000", func(tok *ripcord.Token) { tok.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"name not UTF-8", func(tok *ripcord.Token) { tok.Name = "al\xffice" }},
		{"name with a NUL byte", func(tok *ripcord.Token) { tok.Name = "al\x00ice" }},
		{"ID with a NUL byte", func(tok *ripcord.Token) { tok.ID = "tok_\x00" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := newToken("tok_1")
			tt.change(&tok)
			wantCode(t, s.CreateToken(ctx, tok), ripcord.EINVALID)
			checkTokens(t, s)
			_, err := s.TokenByHash(ctx, tok.Hash)
			wantCode(t, err, ripcord.ENOTFOUND)
		})
	}
	// The valid token is accepted, and so is one that expired already
	// (Live says it is not usable; the store records what it is given).
	ok := createToken(t, s, clock, newToken("tok_1"))
	past := newToken("tok_2")
	past.Expires = at(-time.Hour)
	expired := createToken(t, s, clock, past)
	checkTokens(t, s, ok, expired)
	if expired.Live(clock.Now()) {
		t.Errorf("a token that expired before it was created is live")
	}
}

// testRevokeToken: a token is revoked at the store's time, once.
func testRevokeToken(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	a := createToken(t, s, clock, newToken("tok_a"))
	b := createToken(t, s, clock, newToken("tok_b"))

	clock.Advance(time.Hour + 1234*time.Nanosecond)
	if err := s.RevokeToken(ctx, "tok_a"); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	a.Revoked = ripcord.StoreTime(clock.Now())
	checkToken(t, "TokenByHash after RevokeToken", tokenByHash(t, s, a.Hash), a)
	checkTokens(t, s, a, b)
	if got := tokenByHash(t, s, a.Hash); got.Live(clock.Now()) {
		t.Errorf("a revoked token is live: %+v", got)
	}

	// Again, later: it succeeds and keeps the first time.
	for range 2 {
		clock.Advance(time.Minute)
		if err := s.RevokeToken(ctx, "tok_a"); err != nil {
			t.Fatalf("RevokeToken of a revoked token: %v", err)
		}
		checkTokens(t, s, a, b)
	}

	wantCode(t, s.RevokeToken(ctx, "tok_404"), ripcord.ENOTFOUND)
	wantCode(t, s.RevokeToken(ctx, "TOK_A"), ripcord.ENOTFOUND) // IDs compare exactly
	wantCode(t, s.RevokeToken(ctx, ""), ripcord.EINVALID)
	checkTokens(t, s, a, b)

	// The other token is revoked at its own time.
	clock.Advance(time.Second)
	if err := s.RevokeToken(ctx, "tok_b"); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	b.Revoked = ripcord.StoreTime(clock.Now())
	checkTokens(t, s, a, b)
}

// testTokenLive: Live, on tokens as the store returns them.
func testTokenLive(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	expiring := newToken("tok_exp")
	expiring.Expires = at(time.Hour) // with nanoseconds: the store keeps microseconds
	forever := newToken("tok_forever")
	revoked := newToken("tok_revoked")
	revoked.Expires = at(time.Hour)
	for _, tok := range []ripcord.Token{expiring, forever, revoked} {
		createToken(t, s, clock, tok)
	}
	if err := s.RevokeToken(ctx, "tok_revoked"); err != nil {
		t.Fatal(err)
	}
	exp := tokenByHash(t, s, expiring.Hash)
	if want := ripcord.StoreTime(expiring.Expires); !exp.Expires.Equal(want) {
		t.Fatalf("Expires = %v, want %v", exp.Expires, want)
	}
	tests := []struct {
		tok  ripcord.Token
		at   time.Time
		live bool
	}{
		{exp, t0, true},
		{exp, exp.Expires.Add(-time.Microsecond), true},
		{exp, exp.Expires, false},
		{exp, exp.Expires.Add(time.Hour), false},
		{tokenByHash(t, s, forever.Hash), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), true},
		{tokenByHash(t, s, revoked.Hash), t0, false},
		{tokenByHash(t, s, revoked.Hash), t0.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		if got := tt.tok.Live(tt.at); got != tt.live {
			t.Errorf("%s (expires %v, revoked %v).Live(%v) = %v, want %v", tt.tok.ID, tt.tok.Expires, tt.tok.Revoked, tt.at, got, tt.live)
		}
	}
}

func appendAudit(t *testing.T, s ripcord.Store, e ripcord.AuditEntry) int64 {
	t.Helper()
	seq, err := s.AppendAudit(context.Background(), e)
	if err != nil {
		t.Fatalf("AppendAudit(%s): %v", e.Action, err)
	}
	return seq
}

func listAudit(t *testing.T, s ripcord.Store, f ripcord.AuditFilter) []ripcord.AuditEntry {
	t.Helper()
	list, err := s.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	if list == nil {
		t.Fatalf("ListAudit(%+v) returned nil; want a slice, empty when nothing matches", f)
	}
	return list
}

// checkAudit fails unless got is want, field for field and byte for byte,
// At in UTC.
func checkAudit(t *testing.T, got, want []ripcord.AuditEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d audit entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.At.Equal(w.At) || g.At.Location() != time.UTC || g.Actor != w.Actor || g.Action != w.Action ||
			g.Object != w.Object || g.Remote != w.Remote || g.Detail != w.Detail {
			t.Fatalf("audit entry %d =\n%+v\nwant\n%+v (byte for byte, At in UTC to the microsecond)", i, g, w)
		}
	}
}

func auditEntry(actor, action, object string) ripcord.AuditEntry {
	return ripcord.AuditEntry{Actor: actor, Action: action, Object: object, Remote: "192.0.2.10:53412"}
}

// testAudit: entries are numbered from 1 and dated by the store, and come
// back byte for byte.
func testAudit(t *testing.T, s ripcord.Store, clock *Clock) {
	checkAudit(t, listAudit(t, s, ripcord.AuditFilter{}), nil)

	entries := []ripcord.AuditEntry{
		{Seq: 99, At: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // both ignored: the store's
			Actor: "alice (tok_3f2a)", Action: "token.create", Object: "tok_9c1e", Remote: "[2001:db8::1]:443",
			Detail: `{"name": "ci-pipeline",  "role":"operator", "expires": null}`}, // JSON kept as written
		{Actor: "ci-pipeline (tok_9c1e)", Action: "execution.start", Object: "ex-20250314-0926", Remote: "10.0.0.7:1234",
			Detail: "drill of three-tier\nfrom the nightly job\ttab, \"quotes\", \\backslash\\, naïve ✓ 日本 🚀"},
		{Actor: "unknown", Action: "signin.failed", Remote: "203.0.113.9:60000"}, // no object, no detail
		{Actor: "bob'; DROP TABLE audit; --", Action: "execution.pause", Object: "ex-1", Remote: "",
			Detail: strings.Repeat("0123456789abcdef", 1<<16)}, // 1 MiB
		{Actor: "  spaced  ", Action: "plan.save", Object: " three-tier ", Remote: "unix", Detail: " \r\n "},
	}
	var want []ripcord.AuditEntry
	for i, e := range entries {
		if seq := appendAudit(t, s, e); seq != int64(i+1) {
			t.Fatalf("AppendAudit #%d returned seq %d, want %d", i, seq, i+1)
		}
		w := e
		w.Seq, w.At = int64(i+1), ripcord.StoreTime(clock.Now())
		want = append(want, w)
		clock.Advance(time.Second + 789*time.Nanosecond)
	}
	checkAudit(t, listAudit(t, s, ripcord.AuditFilter{}), want)
	if entries[0].Seq != 99 {
		t.Errorf("AppendAudit changed the caller's entry: %+v", entries[0])
	}

	// A list the caller changes does not change the log.
	got := listAudit(t, s, ripcord.AuditFilter{})
	got[0].Actor, got[1].Seq = "mallory", 7
	checkAudit(t, listAudit(t, s, ripcord.AuditFilter{}), want)
}

func testAuditList(t *testing.T, s ripcord.Store, clock *Clock) {
	const n = 25
	for i := range n {
		appendAudit(t, s, auditEntry("alice", "execution.pause", fmt.Sprint("ex-", i+1)))
		clock.Advance(time.Millisecond)
	}
	tests := []struct {
		after          int64
		limit          int
		first, howMany int64
	}{
		{0, 0, 1, 25},
		{0, 10, 1, 10},
		{10, 10, 11, 10},
		{20, 10, 21, 5},
		{25, 10, 0, 0},
		{24, 0, 25, 1},
		{100, 0, 0, 0},
		{3, 1, 4, 1},
		{0, 1000, 1, 25},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("after %d limit %d", tt.after, tt.limit), func(t *testing.T) {
			list := listAudit(t, s, ripcord.AuditFilter{After: tt.after, Limit: tt.limit})
			if int64(len(list)) != tt.howMany {
				t.Fatalf("%d entries, want %d", len(list), tt.howMany)
			}
			for i, e := range list {
				seq := tt.first + int64(i)
				if e.Seq != seq || e.Object != fmt.Sprint("ex-", seq) || !e.At.Equal(ripcord.StoreTime(at(time.Duration(seq-1)*time.Millisecond))) {
					t.Errorf("entry %d = %+v, want seq %d, object ex-%d", i, e, seq, seq)
				}
			}
		})
	}
	// Paging to the end visits every entry once.
	var seen []int64
	for after := int64(0); ; {
		page := listAudit(t, s, ripcord.AuditFilter{After: after, Limit: 7})
		if len(page) == 0 {
			break
		}
		if page[0].Seq <= after || len(seen) > n {
			t.Fatalf("paging after seq %d returned seqs from %d (seen so far: %v)", after, page[0].Seq, seen)
		}
		for _, e := range page {
			seen = append(seen, e.Seq)
		}
		after = page[len(page)-1].Seq
	}
	if len(seen) != n || seen[0] != 1 || seen[n-1] != n {
		t.Errorf("paging saw %v, want 1..%d", seen, n)
	}
	for _, bad := range []ripcord.AuditFilter{{After: -1}, {Limit: -1}} {
		_, err := s.ListAudit(context.Background(), bad)
		wantCode(t, err, ripcord.EINVALID)
	}
}

func testAuditInvalid(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*ripcord.AuditEntry)
	}{
		{"no actor", func(e *ripcord.AuditEntry) { e.Actor = "" }},
		{"no action", func(e *ripcord.AuditEntry) { e.Action = "" }},
		{"actor not UTF-8", func(e *ripcord.AuditEntry) { e.Actor = "al\xc3ice" }},
		{"action with a NUL byte", func(e *ripcord.AuditEntry) { e.Action = "plan.save\x00" }},
		{"object not UTF-8", func(e *ripcord.AuditEntry) { e.Object = "ex-\xff" }},
		{"remote with a NUL byte", func(e *ripcord.AuditEntry) { e.Remote = "\x00" }},
		{"detail not UTF-8", func(e *ripcord.AuditEntry) { e.Detail = "user agent \xfe\xff" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := auditEntry("alice", "plan.save", "three-tier")
			tt.change(&e)
			_, err := s.AppendAudit(ctx, e)
			wantCode(t, err, ripcord.EINVALID)
			checkAudit(t, listAudit(t, s, ripcord.AuditFilter{}), nil)
		})
	}
	// The refusals used up no seq.
	if seq := appendAudit(t, s, auditEntry("alice", "plan.save", "three-tier")); seq != 1 {
		t.Errorf("the first entry after refusals has seq %d, want 1", seq)
	}
}

// testAuditRace: appenders at the same moment all succeed, each entry under
// the seq its appender was given, gapless from 1.
func testAuditRace(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const appenders, each = 8, 25
	start := make(chan struct{})
	seqs := make([][]int64, appenders)
	errs := make([]error, appenders)
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			<-start
			for i := range each {
				seq, err := s.AppendAudit(ctx, auditEntry(fmt.Sprint("appender-", a), "execution.pause", fmt.Sprint(i)))
				if err != nil {
					errs[a] = err
					return
				}
				seqs[a] = append(seqs[a], seq)
			}
		})
	}
	close(start)
	wg.Wait()
	for a, err := range errs {
		if err != nil {
			t.Fatalf("appender %d: %v", a, err)
		}
	}
	list := listAudit(t, s, ripcord.AuditFilter{})
	if len(list) != appenders*each {
		t.Fatalf("%d entries, want %d", len(list), appenders*each)
	}
	for i, e := range list {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d: the log has a gap or is out of order", i, e.Seq)
		}
	}
	for a := range appenders {
		for i, seq := range seqs[a] {
			e := list[seq-1]
			if e.Actor != fmt.Sprint("appender-", a) || e.Object != fmt.Sprint(i) {
				t.Fatalf("appender %d's entry #%d was given seq %d, which holds %+v", a, i, seq, e)
			}
			if i > 0 && seq <= seqs[a][i-1] {
				t.Fatalf("appender %d's entries go back: seqs %v", a, seqs[a])
			}
		}
	}
}

// testAuditImmutable: nothing the store offers changes or removes an
// audit entry. The schema's own guards are each store's tests' business
// (they can reach the database without the store).
func testAuditImmutable(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	var want []ripcord.AuditEntry
	add := func(e ripcord.AuditEntry) {
		t.Helper()
		e.Seq, e.At = appendAudit(t, s, e), ripcord.StoreTime(clock.Now())
		want = append(want, e)
	}
	add(auditEntry("alice", "token.create", "tok_1"))
	add(auditEntry("alice", "token.create", "tok_2"))

	// Every other write the store offers, and a refused and a cancelled
	// append.
	createToken(t, s, clock, newToken("tok_1"))
	clock.Advance(time.Minute)
	if err := s.RevokeToken(ctx, "tok_1"); err != nil {
		t.Fatal(err)
	}
	x := create(t, s, "ex-1")
	if _, err := s.Append(ctx, x.ID, 1, 0, []ripcord.Event{event("Paused", "")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, x.ID, ownerA, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, ripcord.AuditEntry{Seq: 1, Action: "rewrite"}); err == nil {
		t.Fatal("AppendAudit of an entry without actor succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.AppendAudit(cancelled, ripcord.AuditEntry{Seq: 2, Actor: "mallory", Action: "rewrite"}); err == nil {
		t.Fatal("AppendAudit with a cancelled context succeeded")
	}
	clock.Advance(time.Hour)
	add(auditEntry("bob", "execution.pause", "ex-1"))
	checkAudit(t, listAudit(t, s, ripcord.AuditFilter{}), want)

	// And the interface has no way to change the log: the only methods
	// that name it append and list.
	var names []string
	st := reflect.TypeFor[ripcord.Store]()
	for i := range st.NumMethod() {
		if m := st.Method(i).Name; strings.Contains(m, "Audit") {
			names = append(names, m)
		}
	}
	if !slices.Equal(names, []string{"AppendAudit", "ListAudit"}) {
		t.Errorf("Store's audit methods are %v; an audit entry is never changed or removed", names)
	}
}

// testPlanVersionList: ListPlanVersions lists one plan's versions, or
// every plan's, newest first.
func testPlanVersionList(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	ist := time.FixedZone("IST", 5*3600+1800)
	binary := []byte("plans:\n  - name: three-tier # \x00\xff\xfe not UTF-8\r\n")
	versions := []ripcord.PlanVersion{
		{Hash: "0a1", Name: "three-tier", Source: binary, Created: at(0)},
		{Hash: "0b2", Name: "three-tier", Source: []byte("v2\n"), Created: at(2 * time.Hour).In(ist)}, // newest, in another zone
		{Hash: "0c3", Name: "three-tier", Source: []byte("v3\n"), Created: at(time.Hour)},
		{Hash: "0a4", Name: "three-tier", Source: []byte("v4\n"), Created: at(time.Hour)}, // same time as 0c3: the hash breaks the tie
		{Hash: "1d5", Name: "payments", Source: []byte("p1\n"), Created: at(90 * time.Minute)},
		{Hash: "1e6", Name: "payments", Source: []byte("p2\n"), Created: at(-time.Hour).In(ist)},
		{Hash: "2f7", Name: "Three-Tier", Source: []byte("other\n"), Created: at(3 * time.Hour)}, // names compare exactly
	}
	for _, v := range versions {
		if err := s.SavePlanVersion(ctx, v); err != nil {
			t.Fatalf("SavePlanVersion(%s): %v", v.Hash, err)
		}
	}
	// A hash saved again is listed once, as first saved.
	again := versions[0]
	again.Source, again.Created = []byte("v1 again\n"), at(5*time.Hour)
	if err := s.SavePlanVersion(ctx, again); err != nil {
		t.Fatal(err)
	}
	byHash := map[string]ripcord.PlanVersion{}
	for _, v := range versions {
		byHash[v.Hash] = v
	}
	tests := []struct{ name, want string }{
		{"three-tier", "0b2 0c3 0a4 0a1"},
		{"payments", "1d5 1e6"},
		{"Three-Tier", "2f7"},
		{"", "2f7 0b2 1d5 0c3 0a4 0a1 1e6"},
		{"nope", ""},
		{"three", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			list, err := s.ListPlanVersions(ctx, tt.name)
			if err != nil {
				t.Fatalf("ListPlanVersions: %v", err)
			}
			if list == nil {
				t.Fatal("ListPlanVersions returned nil; want a slice, empty when there are no versions")
			}
			hashes := make([]string, len(list))
			for i, v := range list {
				hashes[i] = v.Hash
				w := byHash[v.Hash]
				if v.Name != w.Name || !bytes.Equal(v.Source, w.Source) || !v.Created.Equal(ripcord.StoreTime(w.Created)) || v.Created.Location() != time.UTC {
					t.Errorf("version %s = %+v, want %+v (byte for byte, created in UTC to the microsecond)", v.Hash, v, w)
				}
			}
			if got := strings.Join(hashes, " "); got != tt.want {
				t.Errorf("ListPlanVersions(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
