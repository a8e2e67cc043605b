package ripcord

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Approval is what an approval step asks: who may approve it, what they
// are told, and how long it waits for them.
//
// New fields must be tagged omitempty (or omitzero), so that adding one does
// not change the hash of plans that do not use it.
type Approval struct {
	// Roles may approve: a token of one of these roles, or of a stronger
	// one (Role.Allows), may approve or reject.
	Roles []Role `json:"roles,omitempty"`
	// Identities are token names that may approve, whatever their role.
	Identities []string `json:"identities,omitempty"`
	// Message is what the approvers are told (the notification and the
	// console show it).
	Message string `json:"message,omitempty"`
	// Timeout is how long the step waits for a decision; zero: for ever.
	Timeout time.Duration `json:"timeout,omitempty"`
	// OnTimeout is what a timeout does: ApprovalFail (the step fails,
	// and the plan's failure policy applies) or ApprovalContinue (the
	// step succeeds). Empty: fail.
	OnTimeout string `json:"onTimeout,omitempty"`
}

// The outcomes of an approval's timeout.
const (
	ApprovalFail     = "fail"
	ApprovalContinue = "continue"
)

// ApprovalOutcomes lists the outcomes of a timeout, the default first.
var ApprovalOutcomes = []string{ApprovalFail, ApprovalContinue}

// Allows reports whether a token with this name and role may approve: its
// name is one of Identities, or its role allows one of Roles. This is the
// one rule of who may approve; every door (API, console, link, CLI) asks
// it.
func (a Approval) Allows(name string, role Role) bool {
	if slices.Contains(a.Identities, name) {
		return true
	}
	for _, r := range a.Roles {
		if role.Allows(r) {
			return true
		}
	}
	return false
}

// Approvers says who may approve, for messages: "role recovery (or
// above), alice".
func (a Approval) Approvers() string {
	var who []string
	for _, r := range a.Roles {
		w := "role " + string(r)
		if r != RoleAdmin {
			w += " (or above)"
		}
		who = append(who, w)
	}
	for _, id := range a.Identities {
		who = append(who, "token "+strconv.Quote(id))
	}
	if len(who) == 0 {
		return "nobody"
	}
	return strings.Join(who, ", ")
}

// ApprovalLink is the part of an approval link that names what it is for:
// one execution's step, waiting since the event Seq that requested the
// approval (so a link of an earlier wait, before a retry, is not one of
// this wait).
type ApprovalLink struct {
	Execution string
	Step      string
	Seq       int64
}

// approvalLinkVersion starts every link token, so that the form can change.
const approvalLinkVersion = "a1"

// Sign returns the link's token: the execution, step and seq with an
// HMAC-SHA256 of them under secret, base64url without padding. The token
// names what to approve and proves that ripcord issued it; it approves
// nothing by itself: the person who opens it must sign in as an approver.
func (l ApprovalLink) Sign(secret []byte) string {
	payload := l.payload()
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (l ApprovalLink) payload() string {
	return approvalLinkVersion + "\x00" + l.Execution + "\x00" + l.Step + "\x00" + strconv.FormatInt(l.Seq, 10)
}

// ParseApprovalLink checks token's signature under secret and returns
// what it names; any token ripcord did not issue with this secret is an
// EINVALID error.
func ParseApprovalLink(token string, secret []byte) (ApprovalLink, error) {
	bad := &Error{Code: EINVALID, Message: "this approval link is not valid",
		Hint: "open the link from the notification as it was sent, or approve in the execution's page of the console"}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return ApprovalLink{}, bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return ApprovalLink{}, bad
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ApprovalLink{}, bad
	}
	parts := strings.Split(string(payload), "\x00")
	if len(parts) != 4 || parts[0] != approvalLinkVersion {
		return ApprovalLink{}, bad
	}
	seq, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || seq <= 0 {
		return ApprovalLink{}, bad
	}
	return ApprovalLink{Execution: parts[1], Step: parts[2], Seq: seq}, nil
}

// String names the link's step for messages.
func (l ApprovalLink) String() string {
	return fmt.Sprintf("step %s of execution %s", l.Step, l.Execution)
}
