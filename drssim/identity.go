package drssim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// The identity model behind the simulator's STS (sts.go): who an access key
// is, the IAM roles a scenario declares with their trust, and the temporary
// credentials AssumeRole hands out. DRS requests signed with those
// credentials act in the role's account, so a cross-account run reaches
// the right account's DRS.
//
// Long-term access keys are mapped to accounts as before (the scenario's
// accessKeys, AKIDSIM<account>, else the default account); each is an IAM
// user named after its key: arn:aws:iam::<account>:user/<access key ID>.
// Temporary credentials (ASIA…) exist only once AssumeRole issued them;
// they carry a session token that must come with every request, and they
// expire in real time, the time the SDKs' credential caches go by.

// RoleSpec is an IAM role that callers may assume through STS AssumeRole.
//
// Principals is the role's trust: who may assume it. Each entry is an
// account ID ("111122223333", or "arn:aws:iam::111122223333:root"): any
// caller of that account; an IAM user ARN
// ("arn:aws:iam::111122223333:user/AKIDSIMULATOR"); a role ARN
// ("arn:aws:iam::111122223333:role/ops"): the sessions of that role; an
// assumed-role session ARN; or "*": anyone.
type RoleSpec struct {
	// Account owns the role; empty means the scenario's default account.
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	// Name is the role's name: its ARN is arn:aws:iam::<account>:role/<name>.
	Name       string   `yaml:"name" json:"name"`
	Principals []string `yaml:"principals" json:"principals"`
	// ExternalID, when set, must be sent as AssumeRole's ExternalId (the
	// sts:ExternalId condition of a trust policy).
	ExternalID string `yaml:"externalId,omitempty" json:"externalId,omitempty"`
	// MaxSessionDuration bounds AssumeRole's DurationSeconds: 1h (the
	// default) to 12h.
	MaxSessionDuration Duration `yaml:"maxSessionDuration,omitempty" json:"maxSessionDuration,omitempty"`
	// Allow lists the actions the role's sessions may perform: IAM
	// actions and patterns (drs:StartRecovery, drs:Describe*, drs:*). Absent:
	// every action. A session refused an action gets DRS's
	// AccessDeniedException (iam.go).
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
}

// errRoleExists refuses a second role with the same ARN.
var errRoleExists = errors.New("a role with this ARN already exists; roles are not replaced (use another name)")

// fallbackAccount is the account of a scenario that names none.
const fallbackAccount = "111122223333"

// IAM name and principal forms (role names: 1-64 of [\w+=,.@-]).
var (
	roleNameRe    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	userARNRe     = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:user/[\w+=,.@/-]{1,512}$`)
	roleARNRe     = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/([\w+=,.@-]{1,64})$`)
	rootARNRe     = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:root$`)
	assumedARNRe  = regexp.MustCompile(`^arn:aws:sts::[0-9]{12}:assumed-role/[\w+=,.@-]{1,64}/[\w+=,.@-]{2,64}$`)
	sessionKeyRe  = regexp.MustCompile(`^ASIA[A-Z0-9]{12,124}$`)
	roleSessionRe = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

// Session durations: the bounds of AssumeRole's DurationSeconds and of a
// role's MaxSessionDuration.
const (
	defaultMaxSess  = time.Hour        // a role's maximum, and the default duration
	maxMaxSess      = 12 * time.Hour   // the most a role may allow
	chainedMaxSess  = time.Hour        // the most for a session assumed with temporary credentials
	minSessDuration = 15 * time.Minute // the least DurationSeconds
)

func (rs RoleSpec) validate() error {
	var errs []string
	if rs.Account != "" && !accountRe.MatchString(rs.Account) {
		errs = append(errs, fmt.Sprintf("account %q must be a 12-digit AWS account ID", rs.Account))
	}
	if !roleNameRe.MatchString(rs.Name) {
		errs = append(errs, fmt.Sprintf("name %q must be an IAM role name: 1 to 64 letters, digits and +=,.@_- (no path)", rs.Name))
	}
	if len(rs.Principals) == 0 {
		errs = append(errs, "principals is required: who may assume the role (account IDs, user or role ARNs, or \"*\")")
	}
	for _, p := range rs.Principals {
		if !validPrincipal(p) {
			errs = append(errs, fmt.Sprintf("principal %q must be a 12-digit account ID, arn:aws:iam::<account>:root, "+
				"an IAM user or role ARN (arn:aws:iam::<account>:user/<name>, …:role/<name>), "+
				"an assumed-role ARN (arn:aws:sts::<account>:assumed-role/<role>/<session>), or \"*\"", p))
		}
	}
	if rs.ExternalID != "" && (len(rs.ExternalID) < 2 || len(rs.ExternalID) > 1224 || !externalIDRe.MatchString(rs.ExternalID)) {
		errs = append(errs, fmt.Sprintf("externalId %q must be 2 to 1224 letters, digits and +=,.@:/_-", rs.ExternalID))
	}
	for _, a := range rs.Allow {
		if !validActionPattern(a) {
			errs = append(errs, fmt.Sprintf("allow: %q must be an IAM action such as drs:StartRecovery, a pattern such as drs:Describe*, or *", a))
		}
	}
	if d := rs.MaxSessionDuration.D(); d != 0 && (d < defaultMaxSess || d > maxMaxSess) {
		errs = append(errs, fmt.Sprintf("maxSessionDuration %s must be between 1h and 12h", d))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func validPrincipal(p string) bool {
	return p == "*" || accountRe.MatchString(p) || rootARNRe.MatchString(p) || userARNRe.MatchString(p) ||
		roleARNRe.MatchString(p) || assumedARNRe.MatchString(p)
}

// arn is the role's ARN; account "" takes def (the scenario's default
// account, or fallbackAccount).
func (rs RoleSpec) arn(def string) string {
	acct := rs.Account
	if acct == "" {
		acct = def
	}
	if acct == "" {
		acct = fallbackAccount
	}
	return "arn:aws:iam::" + acct + ":role/" + rs.Name
}

// caller is who AWS takes the signer of a request to be.
type caller struct {
	account string
	arn     string // arn:aws:iam::<acct>:user/<name> or arn:aws:sts::<acct>:assumed-role/<role>/<session>
	userID  string // AIDA… for users, AROA…:<session> for sessions
	roleARN string // sessions: the role assumed
	chained bool   // sessions: temporary credentials
}

type role struct {
	spec       RoleSpec
	arn        string
	account    string
	id         string // AROA…
	maxSession time.Duration
	created    time.Time // simulated
	allow      []string  // nil: every action (iam.go)
	revoked    []string  // taken away at run time (Revoke)
}

type session struct {
	accessKey, secret, token string
	role                     *role
	name                     string // RoleSessionName
	arn                      string // the assumed-role ARN
	id                       string // AssumedRoleId
	assumedBy                string // the caller's ARN
	externalID               string
	issued                   time.Time // simulated
	expires                  time.Time // real (wall) time
}

// identities holds roles and issued sessions. It has its own lock: STS
// requests never touch the DRS model.
type identities struct {
	mu       sync.Mutex
	roles    map[string]*role // by ARN
	sessions map[string]*session
	order    []string // session access keys in issue order
	rng      *rand.Rand
	requests map[string]int64 // STS requests per action
	denied   map[string]int64 // DRS requests refused, per missing action (iam.go)
}

func newIdentities(seed int64) *identities {
	return &identities{roles: map[string]*role{}, sessions: map[string]*session{},
		rng: rand.New(rand.NewPCG(uint64(seed), 0x5354535354535353)), requests: map[string]int64{}, denied: map[string]int64{}}
}

// AddRole adds a role that callers may assume from now on, and returns
// its ARN. A role with the same ARN is an error: roles are not replaced.
func (s *Sim) AddRole(spec RoleSpec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", fmt.Errorf("invalid role: %w", err)
	}
	arn := spec.arn(s.defAccount)
	id := s.ids
	id.mu.Lock()
	defer id.mu.Unlock()
	if _, ok := id.roles[arn]; ok {
		return "", fmt.Errorf("role %s: %w", arn, errRoleExists)
	}
	f := strings.SplitN(arn, ":", 6)
	r := &role{spec: spec, arn: arn, account: f[4], id: "AROA" + stableID(arn, 17),
		maxSession: spec.MaxSessionDuration.D(), created: s.clock.Now()}
	if r.maxSession == 0 {
		r.maxSession = defaultMaxSess
	}
	r.spec.Account = r.account
	r.spec.Principals = append([]string(nil), spec.Principals...)
	if spec.Allow != nil {
		r.allow = append([]string{}, spec.Allow...)
	}
	id.roles[arn] = r
	return arn, nil
}

// stableID derives n characters of an AWS-style unique ID (upper-case
// letters and digits 2-7) from key, the same in every run.
func stableID(key string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s", i, key)
		v := h.Sum64()
		for j := 0; j < 12 && b.Len() < n; j++ {
			b.WriteByte(alphabet[v&31])
			v >>= 5
		}
	}
	return b.String()
}

// randomChars draws n characters of alphabet from the identities' seeded
// generator. The caller holds id.mu.
func (id *identities) randomChars(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[id.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// credentialProblem is why a request's credentials are refused.
type credentialProblem int

const (
	credentialsOK credentialProblem = iota
	credentialsInvalid
	credentialsExpired
)

// identify returns who signs with accessKey and session token: a session
// of an assumed role (temporary credentials, which need their token and
// must not have expired) or the IAM user of a long-term key.
func (s *Sim) identify(accessKey, token string) (caller, credentialProblem) {
	id := s.ids
	id.mu.Lock()
	ss := id.sessions[accessKey]
	id.mu.Unlock()
	s.mu.RLock()
	_, mapped := s.accessKeys[accessKey]
	s.mu.RUnlock()
	switch {
	case ss != nil:
		if token != ss.token {
			return caller{}, credentialsInvalid
		}
		if !s.wall().Before(ss.expires) {
			return caller{}, credentialsExpired
		}
		return caller{account: ss.role.account, arn: ss.arn, userID: ss.id, roleARN: ss.role.arn, chained: true}, credentialsOK
	case !mapped && sessionKeyRe.MatchString(accessKey), token != "":
		// Temporary credentials the simulator never issued, or a session
		// token sent with a long-term key.
		return caller{}, credentialsInvalid
	}
	acct := s.accountFor(accessKey)
	arn := "arn:aws:iam::" + acct + ":user/" + accessKey
	return caller{account: acct, arn: arn, userID: "AIDA" + stableID(arn, 17)}, credentialsOK
}

// trusts reports whether principal p of a trust policy matches c.
func trusts(p string, c caller) bool {
	switch {
	case p == "*":
		return true
	case accountRe.MatchString(p):
		return c.account == p
	case rootARNRe.MatchString(p):
		return p == "arn:aws:iam::"+c.account+":root"
	case c.roleARN != "" && p == c.roleARN:
		return true
	}
	return p == c.arn
}

// assumeInput is AssumeRole's request as far as the simulator models it.
type assumeInput struct {
	roleARN, sessionName, externalID string
	duration                         time.Duration
}

// assumeRole checks c's right to assume the role and issues a session.
func (s *Sim) assumeRole(c caller, in assumeInput) (*session, *stsError) {
	id := s.ids
	id.mu.Lock()
	defer id.mu.Unlock()
	r := id.roles[in.roleARN]
	denied := func() *stsError {
		return stsAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn, in.roleARN))
	}
	if r == nil {
		return nil, denied()
	}
	trusted := false
	for _, p := range r.spec.Principals {
		if trusts(p, c) {
			trusted = true
			break
		}
	}
	if !trusted || (r.spec.ExternalID != "" && in.externalID != r.spec.ExternalID) {
		return nil, denied()
	}
	switch {
	case c.chained && in.duration > chainedMaxSess:
		return nil, stsValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case in.duration > r.maxSession:
		return nil, stsValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var key string
	for key == "" || id.sessions[key] != nil {
		key = "ASIA" + id.randomChars(upper, 16)
	}
	ss := &session{
		accessKey:  key,
		secret:     id.randomChars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
		token:      "drssim/" + id.randomChars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 120),
		role:       r,
		name:       in.sessionName,
		arn:        "arn:aws:sts::" + r.account + ":assumed-role/" + r.spec.Name + "/" + in.sessionName,
		id:         r.id + ":" + in.sessionName,
		assumedBy:  c.arn,
		externalID: in.externalID,
		issued:     s.clock.Now(),
		expires:    s.wall().Add(in.duration).UTC(),
	}
	id.sessions[key] = ss
	id.order = append(id.order, key)
	return ss, nil
}

func (id *identities) countRequest(action string) {
	id.mu.Lock()
	id.requests[action]++
	id.mu.Unlock()
}

// STSView is what the simulator's STS knows: its roles, the sessions
// AssumeRole issued (secrets and tokens left out) and the requests it
// answered.
type STSView struct {
	Roles    []RoleView       `json:"roles"`
	Sessions []SessionView    `json:"sessions"`
	Requests map[string]int64 `json:"requests"` // per STS action
	// Denied counts the DRS requests refused for want of an action, by
	// the action (iam.go).
	Denied map[string]int64 `json:"denied"`
}

// RoleView is one role with its trust.
type RoleView struct {
	ARN                string   `json:"arn"`
	Account            string   `json:"account"`
	Name               string   `json:"name"`
	RoleID             string   `json:"roleId"`
	Principals         []string `json:"principals"`
	ExternalID         string   `json:"externalId,omitempty"`
	MaxSessionDuration Duration `json:"maxSessionDuration"`
	// Allow is the role's allowed actions (absent: every action); Revoked
	// the patterns taken away at run time.
	Allow   []string `json:"allow,omitempty"`
	Revoked []string `json:"revoked,omitempty"`
}

// SessionView is one set of temporary credentials AssumeRole issued.
type SessionView struct {
	AccessKeyID    string    `json:"accessKeyId"`
	AssumedRoleARN string    `json:"assumedRoleArn"`
	AssumedRoleID  string    `json:"assumedRoleId"`
	RoleARN        string    `json:"roleArn"`
	Account        string    `json:"account"`
	SessionName    string    `json:"sessionName"`
	AssumedBy      string    `json:"assumedBy"` // the caller's ARN
	ExternalID     string    `json:"externalId,omitempty"`
	Issued         time.Time `json:"issued"`     // simulated time
	Expiration     time.Time `json:"expiration"` // real time
	Expired        bool      `json:"expired"`
}

// STS returns the roles, the issued sessions (oldest first) and the STS
// request counts.
func (s *Sim) STS() STSView {
	id := s.ids
	id.mu.Lock()
	defer id.mu.Unlock()
	v := STSView{Roles: []RoleView{}, Sessions: []SessionView{}, Requests: map[string]int64{}, Denied: map[string]int64{}}
	for _, r := range id.roles {
		v.Roles = append(v.Roles, RoleView{ARN: r.arn, Account: r.account, Name: r.spec.Name, RoleID: r.id,
			Principals: append([]string(nil), r.spec.Principals...), ExternalID: r.spec.ExternalID,
			MaxSessionDuration: Duration(r.maxSession), Allow: append([]string(nil), r.allow...), Revoked: append([]string(nil), r.revoked...)})
	}
	sort.Slice(v.Roles, func(i, j int) bool { return v.Roles[i].ARN < v.Roles[j].ARN })
	now := s.wall()
	for _, k := range id.order {
		ss := id.sessions[k]
		v.Sessions = append(v.Sessions, SessionView{AccessKeyID: k, AssumedRoleARN: ss.arn, AssumedRoleID: ss.id,
			RoleARN: ss.role.arn, Account: ss.role.account, SessionName: ss.name, AssumedBy: ss.assumedBy,
			ExternalID: ss.externalID, Issued: ss.issued, Expiration: ss.expires, Expired: !now.Before(ss.expires)})
	}
	for k, n := range id.requests {
		v.Requests[k] = n
	}
	for k, n := range id.denied {
		v.Denied[k] = n
	}
	return v
}
