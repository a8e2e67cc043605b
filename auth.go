package ripcord

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what an API token may do. Each role may do what the ones before
// it may, and more:
//
//   - viewer: read everything (plans, targets, servers, executions, the
//     audit log);
//   - operator: also start and control drills, and clean them up;
//   - recovery: also start and control real recoveries;
//   - admin: also change plans and targets and manage tokens.
type Role string

// The roles, weakest first.
const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleRecovery Role = "recovery"
	RoleAdmin    Role = "admin"
)

// Roles lists every role, weakest first.
var Roles = []Role{RoleViewer, RoleOperator, RoleRecovery, RoleAdmin}

// rank orders the roles; an unknown role ranks below every known one.
func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.Valid() && need.Valid() && r.rank() >= need.rank() }

// ParseRole reads a role's name, with an error that lists the roles.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", &Error{Code: EINVALID, Message: fmt.Sprintf("unknown role %q", s),
		Hint: "roles are viewer, operator, recovery and admin"}
}

// Token is an API token as the store keeps it: the secret itself is never
// stored, only its SHA-256 hash, so a copy of the store lets nobody sign in.
type Token struct {
	ID      string // public and stable, e.g. tok_3f2a…: in lists and the audit log
	Name    string // whom or what it is for, e.g. "alice" or "ci-pipeline"
	Role    Role
	Hash    []byte    // SHA-256 of the secret, 32 bytes
	Created time.Time // store time (StoreTime)
	Expires time.Time // zero: never
	Revoked time.Time // zero: not revoked
}

// Validate reports whether t can be created, always as EINVALID with a
// hint (both stores call it). A new token has no revocation time and its
// Created is the store's; an imported one (ripcord store copy) keeps its
// creation and revocation times, which must then be valid.
func (t Token) Validate(imported bool) error {
	fail := func(format string, args ...any) error {
		return &Error{Code: EINVALID,
			Message: fmt.Sprintf("token %q: "+format, append([]any{t.ID}, args...)...),
			Hint:    "a token needs an ID, a name, a role (viewer, operator, recovery or admin) and the SHA-256 hash of its secret"}
	}
	text := func(name, s string) error {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("the %s is not valid UTF-8 without NUL bytes", name)
		}
		return nil
	}
	optional := func(at time.Time, name string) error {
		if at.IsZero() {
			return nil
		}
		return checkTime(at, name)
	}
	if t.ID == "" {
		return &Error{Code: EINVALID, Message: "token: no ID", Hint: "give the token an ID, e.g. tok_ and random hex digits"}
	}
	if err := text("ID", t.ID); err != nil {
		return fail("%v", err)
	}
	switch {
	case t.Name == "":
		return fail("no name")
	case !t.Role.Valid():
		return fail("unknown role %q", t.Role)
	case len(t.Hash) != 32:
		return fail("the hash is %d bytes, want 32 (SHA-256)", len(t.Hash))
	case !imported && !t.Revoked.IsZero():
		return &Error{Code: EINVALID, Message: fmt.Sprintf("token %q: a new token cannot be revoked already", t.ID),
			Hint: "create it with no revocation time, then revoke it"}
	}
	if err := text("name", t.Name); err != nil {
		return fail("%v", err)
	}
	if err := optional(t.Expires, "expiry"); err != nil {
		return fail("%v", err)
	}
	if imported {
		if err := checkTime(t.Created, "creation"); err != nil {
			return fail("%v", err)
		}
		if err := optional(t.Revoked, "revocation"); err != nil {
			return fail("%v", err)
		}
	}
	return nil
}

// Live reports whether the token may be used at now: not revoked and not
// expired.
func (t Token) Live(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// AuditEntry is one change or control made through ripcord: who, when,
// what, on what and from where. The audit log is append-only.
type AuditEntry struct {
	Seq    int64     // assigned by the store, from 1, gapless
	At     time.Time // store time (StoreTime)
	Actor  string    // the authenticated identity: the token's name and ID, e.g. "alice (tok_3f2a…)"
	Action string    // e.g. "execution.start", "execution.pause", "plan.save", "token.create", "signin.failed"
	Object string    // what it acted on: an execution ID, a plan name, a token ID; may be empty
	Remote string    // the client's address, as the server saw it
	Detail string    // more, in words or JSON; may be empty
}

// AuditFilter selects audit entries: those with Seq > After, oldest first,
// at most Limit (0: all).
type AuditFilter struct {
	After int64
	Limit int
}

// AuthStore is what the server keeps besides executions: API tokens and
// the audit log. Store implementations provide it too (the storetest suite
// checks both).
//
// Errors and times follow [Store]'s rules: a *Error with a code when the
// cause is the caller's; times in UTC, to the microsecond, taken from the
// store's clock (Created, Revoked, At). Text (names, actors, details) must
// be valid UTF-8 without NUL bytes, which both databases keep byte for
// byte (EINVALID otherwise).
type AuthStore interface {
	// CreateToken stores a new token; its Created is the store's time
	// (the caller's is ignored). It fails with ECONFLICT if its ID or
	// hash is taken, EINVALID if its role is unknown, its ID or name is
	// empty, its hash is not 32 bytes, its Expires is outside the years
	// 1 to 9999 or it is already revoked (Revoked is set only by
	// RevokeToken). Nothing is stored when it fails.
	CreateToken(ctx context.Context, t Token) error

	// TokenByHash returns the token with the given hash (live or not: the
	// caller checks Live), or ENOTFOUND.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)

	// ListTokens returns every token, oldest first (by Created, then by
	// ID).
	ListTokens(ctx context.Context) ([]Token, error)

	// RevokeToken revokes a token at the store's time. Revoking a revoked
	// token keeps the first time and succeeds; an unknown ID is ENOTFOUND
	// (an empty one EINVALID).
	RevokeToken(ctx context.Context, id string) error

	// AppendAudit adds an entry (its Seq and At are the store's: what
	// the caller sets is ignored) and returns its Seq. Actor and Action
	// must not be empty (EINVALID). Concurrent appends are serialized:
	// Seq stays gapless.
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)

	// ListAudit returns the entries f selects; a negative After or
	// Limit is EINVALID.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// CreateSession stores a console session (its Created is the
	// store's time) and removes the sessions that have expired. It fails
	// with ECONFLICT if its hash is taken and EINVALID if a hash is not
	// 32 bytes, its CSRF token is empty or it expires before it is
	// created. Every replica sharing the store knows it at once.
	CreateSession(ctx context.Context, s Session) error

	// SessionByHash returns the session with the given hash (expired or
	// not: the caller judges), or ENOTFOUND.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)

	// DeleteSession removes a session (signing out); a missing one is not
	// an error.
	DeleteSession(ctx context.Context, hash []byte) error

	// ServerSecret returns the server's secret: ServerSecretSize random
	// bytes, made by the first call and kept, so that every call, of
	// every replica sharing the store, returns the same bytes (racing
	// first calls agree). It signs approval links (ApprovalLink.Sign).
	ServerSecret(ctx context.Context) ([]byte, error)
}

// ServerSecretSize is the length of the server's secret, in bytes.
const ServerSecretSize = 32

// Session is a console sign-in, kept in the store so that every replica
// serves it: the SHA-256 of the session cookie's random value (the value
// itself is never stored: a copy of the store signs nobody in), the hash of
// the token it acts as (so a revoked or expired token ends its sessions at
// once), the CSRF token of its forms, and its expiry.
type Session struct {
	Hash      []byte
	TokenHash []byte
	CSRF      string
	Created   time.Time // store time (StoreTime)
	Expires   time.Time
}

// ValidateSession reports whether s can be created at now, as EINVALID
// with a hint (stores call it).
func ValidateSession(s Session, now time.Time) error {
	fail := func(msg string) error {
		return &Error{Code: EINVALID, Message: "session: " + msg, Hint: "a session is made by the console's sign-in"}
	}
	switch {
	case len(s.Hash) != 32:
		return fail(fmt.Sprintf("its hash is %d bytes, not 32 (SHA-256)", len(s.Hash)))
	case len(s.TokenHash) != 32:
		return fail(fmt.Sprintf("its token's hash is %d bytes, not 32 (SHA-256)", len(s.TokenHash)))
	case s.CSRF == "" || len(s.CSRF) > 200 || !utf8.ValidString(s.CSRF) || strings.ContainsFunc(s.CSRF, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return fail("its CSRF token is empty, too long or not printable")
	case !s.Expires.After(now) || s.Expires.Year() > 9999:
		return fail("it expires before it is created, or after the year 9999")
	}
	return nil
}

// TokenPrefix starts every API token's secret, so that a leaked one is
// recognizable (secret scanners, logs).
const TokenPrefix = "rpc_"

// NewToken mints a token: the secret to hand out once (TokenPrefix and 43
// characters of base64url: 256 random bits), its hash to store, and a
// public ID ("tok_" and 16 hex digits).
func NewToken() (secret, id string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", nil, err
	}
	var i [8]byte
	if _, err := rand.Read(i[:]); err != nil {
		return "", "", nil, err
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, "tok_" + hex.EncodeToString(i[:]), TokenHash(secret), nil
}

// TokenHash is the hash a store keeps of a token's secret: SHA-256.
func TokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
