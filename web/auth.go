package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// maxTokenLen bounds a presented token: longer is not one of ours.
const maxTokenLen = 256

// Actor is how a token's holder is named in the audit log and in the
// events of an execution: its name and ID, e.g. "alice (tok_3f2a…)".
func Actor(t ripcord.Token) string { return fmt.Sprintf("%s (%s)", t.Name, t.ID) }

// identity is who a request acts as: it comes from authentication only,
// never from the request's body or parameters.
type identity struct {
	token  ripcord.Token
	actor  string // Actor(token)
	remote string // the client's address
}

// remoteHost is the client's address as the connection shows it, without
// the port. A proxy in front of the server is one client: the rate limit
// of failed sign-ins then applies to it as a whole.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate finds the live token a request presents. Every failure
// answers the same 401, whatever it was (no such token, expired, revoked,
// malformed), and a failure counts against the client's address: past the
// limit, every request from it is refused with 429 until it has waited.
// A request without an Authorization header is not a failed sign-in: it
// is refused (401) but neither counted nor audited.
func (h *Handler) authenticate(r *http.Request) (*identity, error) {
	ctx := r.Context()
	remote := remoteHost(r)
	now := h.now()
	if wait, limited := h.limiter.limited(remote, now); limited {
		return nil, rateLimited(wait)
	}
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, unauthenticated("this request needs a bearer token")
	}
	secret, ok := bearer(values)
	if !ok {
		return nil, h.signInFailed(ctx, remote, "", "a malformed Authorization header")
	}
	hash := ripcord.TokenHash(secret)
	t, err := h.cfg.Store.TokenByHash(ctx, hash)
	switch {
	case ripcord.ErrorCode(err) == ripcord.ENOTFOUND:
		return nil, h.signInFailed(ctx, remote, "", "an unknown token")
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	case subtle.ConstantTimeCompare(t.Hash, hash) != 1:
		return nil, h.signInFailed(ctx, remote, "", "an unknown token")
	case !t.Revoked.IsZero():
		return nil, h.signInFailed(ctx, remote, t.ID, "token "+Actor(t)+", revoked")
	case !t.Live(now):
		return nil, h.signInFailed(ctx, remote, t.ID, "token "+Actor(t)+", expired")
	}
	return &identity{token: t, actor: Actor(t), remote: remote}, nil
}

// bearer reads the token of an Authorization header: one header, the
// Bearer scheme (any case), a token of printable ASCII.
func bearer(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c > '~' {
			return "", false
		}
	}
	return token, true
}

// signInFailed counts a failed sign-in against remote, writes it to the
// audit log (the reason is for admins; the answer does not tell it) and
// returns the one 401.
func (h *Handler) signInFailed(ctx context.Context, remote, tokenID, what string) error {
	h.limiter.fail(remote, h.now())
	_, err := h.cfg.Store.AppendAudit(ctx, auditEntry("unauthenticated", "signin.failed", tokenID, remote, "presented "+what))
	if err != nil {
		h.log.ErrorContext(ctx, "audit a failed sign-in", "remote", remote, "error", err)
	}
	return unauthenticated("the bearer token is not valid: it is unknown, expired or revoked")
}

// authorize refuses an identity whose role is below need; nothing has
// been done yet.
func authorize(id *identity, need ripcord.Role) error {
	if id.token.Role.Allows(need) {
		return nil
	}
	return fail(client.EFORBIDDEN,
		fmt.Sprintf("token %s has role %s; this needs role %s", id.actor, id.token.Role, need),
		"ask an admin for a token with role "+string(need)+" or above")
}
