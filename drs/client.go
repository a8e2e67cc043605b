// Package drs is ripcord's adapter to AWS Elastic Disaster Recovery: it
// implements [ripcord.DRS] on aws-sdk-go-v2 for one target (an account and
// region), against the real service or the simulator. The AWS SDK stays in
// here: the engine sees only ripcord.DRS and plain types. The package owns
// the decisions that keep
// launches exactly-once and the account unthrottled: which calls the SDK
// may retry (reads) and which it must not (StartRecovery and
// TerminateRecoveryInstances, which have no idempotency token), a
// per-target rate limiter that slows down when DRS throttles, batching and
// pagination, and the translation of SDK errors into *ripcord.DRSError
// values that name the resource and say what to do.
package drs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/ripcord-dr/ripcord"
)

// Defaults for Config.
const (
	DefaultRateLimit = 5                // requests per second per target
	DefaultTimeout   = 60 * time.Second // per HTTP request
)

// readAttempts is how many times the SDK tries a read (Describe*) before
// giving up. Reads change nothing in DRS, so repeating one is always safe,
// and the SDK's standard retryer already knows DRS's transient failures
// (5xx, ThrottlingException, reset connections and timeouts) and backs off
// with full jitter. Three attempts (the SDK's default) ride out a blip;
// longer outages are the engine's business, whose loops come back anyway.
// The retryer's client-side retry quota stays on: in a long outage it stops
// the retries, so the engine's next poll, not a storm of SDK retries, is
// what asks DRS again.
const readAttempts = 3

// Config is how to reach DRS in one target. The zero value of each field
// takes the default noted beside it.
type Config struct {
	// Region of the target; empty takes the region of the profile or the
	// environment (AWS_REGION).
	Region string
	// Endpoint overrides DRS's endpoint (the simulator: http://…). Empty
	// uses AWS_ENDPOINT_URL_DRS or AWS_ENDPOINT_URL when set, else AWS.
	Endpoint string
	// STSEndpoint overrides STS's endpoint (the simulator serves STS on
	// its DRS port: http://…). It is used both to assume RoleARN and for
	// CallerIdentity. Empty uses AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL
	// when set, else the SDK's own resolution (STS in Region).
	STSEndpoint string
	// RoleARN, when set, is assumed (with ExternalID when that is set) on
	// top of the standard credentials; every permission error names it.
	RoleARN    string
	ExternalID string
	// Profile is the shared config profile (--profile); empty: the default
	// profile or AWS_PROFILE.
	Profile string
	// RateLimit is the most requests per second this Client sends to DRS
	// (default 5). Burst is how many may go at once (default: one
	// second's worth).
	RateLimit float64
	Burst     int
	// Clock is the time the rate limiter counts and waits on (nil: the
	// wall clock). A simulator's manual clock (drssim.ManualClock, whose
	// Sleep moves it forward) makes waiting for the limiter take simulated
	// time instead of real time: ripcord bench does so.
	Clock Clock
	// Timeout bounds one HTTP request, answer included (default 60s). It
	// does not apply to an HTTPClient given here.
	Timeout time.Duration
	// HTTPClient replaces the SDK's HTTP client (and then AWS_CA_BUNDLE
	// does not apply). The Client wraps it in its guards either way.
	HTTPClient aws.HTTPClient
	// Credentials replaces the standard credential chain (tests,
	// embedding). A RoleARN is still assumed on top of them.
	Credentials aws.CredentialsProvider
	// RetryBackoff replaces the SDK's backoff between read attempts (full
	// jitter, exponential, capped at 20s). Tests use one that does not wait.
	RetryBackoff retry.BackoffDelayer
	// AppID names the calling process in the User-Agent of every request
	// (app/AppID; at most 50 characters), so that DRS's side (CloudTrail,
	// the simulator's counts) can tell replicas apart.
	AppID string
	// Observe, when set, is called once per DRS request attempt that
	// reached the HTTP client (SDK retries included) with its operation,
	// outcome and latency: metrics. It runs on the caller's goroutine
	// and must return quickly.
	Observe func(Attempt)
}

// Validate checks the fields that can be checked without AWS. New calls
// it.
func (cfg Config) Validate() error {
	switch {
	case cfg.RateLimit < 0:
		return invalidConfig(fmt.Sprintf("rate limit %v is negative", cfg.RateLimit), "give requests per second, e.g. 5")
	case cfg.Burst < 0:
		return invalidConfig(fmt.Sprintf("burst %d is negative", cfg.Burst), "give how many requests may go at once, e.g. 5")
	case cfg.Timeout < 0:
		return invalidConfig(fmt.Sprintf("timeout %s is negative", cfg.Timeout), "give a duration such as 60s")
	case cfg.ExternalID != "" && cfg.RoleARN == "":
		return invalidConfig("an external ID is set but no role ARN",
			"the external ID is sent when assuming the target's role: set the role ARN, or remove the external ID")
	case cfg.RoleARN != "" && !roleARN(cfg.RoleARN):
		return invalidConfig(fmt.Sprintf("role ARN %q is not an IAM role ARN", cfg.RoleARN),
			"use the form arn:aws:iam::123456789012:role/NAME")
	}
	return nil
}

func invalidConfig(msg, hint string) error {
	return &ripcord.Error{Code: ripcord.EINVALID, Message: "drs config: " + msg, Hint: hint}
}

// roleARN reports whether s looks like arn:PARTITION:iam::ACCOUNT:role/NAME.
func roleARN(s string) bool {
	f := strings.SplitN(s, ":", 6)
	return len(f) == 6 && f[0] == "arn" && f[1] != "" && f[2] == "iam" && len(f[4]) == 12 &&
		strings.HasPrefix(f[5], "role/") && len(f[5]) > len("role/")
}

// Client is DRS in one target. It is safe for concurrent use; the engine
// shares one per target, so that the rate limit and the counts are per
// target.
type Client struct {
	api     *awsdrs.Client
	sts     *sts.Client // with the same credentials as api, for CallerIdentity
	cfg     Config
	region  string
	limiter *limiter

	mu         sync.Mutex
	calls      map[string]int64
	serverTime time.Time // the latest Date DRS answered with
}

var _ ripcord.DRS = (*Client)(nil)

// New returns a Client for the target cfg describes. It loads the standard
// AWS configuration (environment, shared files, --profile), assumes
// cfg.RoleARN when set, and contacts nothing: credentials are fetched on
// the first call.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.Burst == 0 {
		cfg.Burst = defaultBurst(cfg.RateLimit)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	awsCfg, err := LoadAWSConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	httpClient := awsCfg.HTTPClient
	stsEndpoint := stsEndpointOption(cfg)

	c := &Client{cfg: cfg, region: awsCfg.Region, limiter: newLimiter(cfg.RateLimit, cfg.Burst), calls: map[string]int64{}}
	c.limiter.clock = cfg.Clock
	// GetCallerIdentity is a read: the SDK may retry it like DRS's reads.
	// It is not DRS's, so it does not go through DRS's rate limiter.
	c.sts = sts.NewFromConfig(awsCfg, stsEndpoint, func(o *sts.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = readAttempts
			if cfg.RetryBackoff != nil {
				so.Backoff = cfg.RetryBackoff
			}
		})
		o.RetryMaxAttempts = 0
	})
	c.api = awsdrs.NewFromConfig(awsCfg, func(o *awsdrs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// DRS's own requests are marked as sent by sendMarker, so that an
		// error can tell "never left" from "left, answer lost".
		o.HTTPClient = sendMarker{next: httpClient, c: c}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = readAttempts
			if cfg.RetryBackoff != nil {
				so.Backoff = cfg.RetryBackoff
			}
		})
		// Our policy, not AWS_MAX_ATTEMPTS or max_attempts in a profile,
		// decides how often a call is attempted.
		o.RetryMaxAttempts = 0
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			if err := s.Finalize.Insert(attemptGate{c}, "Retry", middleware.After); err != nil {
				return err
			}
			if err := s.Finalize.Add(callGuard{}, middleware.After); err != nil {
				return err
			}
			if cfg.Observe != nil {
				return s.Deserialize.Add(observer{c}, middleware.Before)
			}
			return nil
		})
	})
	return c, nil
}

// LoadAWSConfig loads the standard AWS configuration (environment, shared
// files, cfg.Profile, cfg.Region) the way New does: with cfg's timeout,
// HTTP client, credentials and AppID, and cfg.RoleARN assumed on top when
// set. It is the one place ripcord builds an AWS configuration; a reader of
// DRS other than Client (the rehearsal twin, drssim/twin) and a target's
// other AWS clients (SNS for its notifications, so that they act with the
// same identity) start from it.
// It contacts nothing: credentials are fetched on the first call.
func LoadAWSConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	if err := cfg.Validate(); err != nil {
		return aws.Config{}, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	// The loader gets the SDK's own client, to which it can apply
	// AWS_CA_BUNDLE; a client given in cfg replaces it afterwards, as is.
	var opts []func(*config.LoadOptions) error
	opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.Timeout)))
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if cfg.AppID != "" {
		opts = append(opts, config.WithAppID(cfg.AppID))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		e := ripcord.Errorf(ripcord.EINVALID, "drs: loading the AWS configuration: %v", err)
		e.Hint = "check the profile name and the files under ~/.aws (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
		return aws.Config{}, e
	}
	if awsCfg.Region == "" {
		e := ripcord.Errorf(ripcord.EINVALID, "drs: no region")
		e.Hint = "set the target's region (or --region, AWS_REGION, or region in the profile)"
		return aws.Config{}, e
	}
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	httpClient := bodyGuard{awsCfg.HTTPClient}
	awsCfg.HTTPClient = httpClient
	stsEndpoint := stsEndpointOption(cfg)
	if cfg.RoleARN != "" {
		// STS gets the base credentials and the SDK's own retries:
		// AssumeRole changes nothing, so repeating it is safe.
		assume := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg, stsEndpoint), cfg.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "ripcord"
			if cfg.ExternalID != "" {
				o.ExternalID = aws.String(cfg.ExternalID)
			}
		})
		awsCfg.Credentials = aws.NewCredentialsCache(assume)
	}
	if awsCfg.Credentials != nil {
		awsCfg.Credentials = credentialGuard{awsCfg.Credentials}
	}
	return awsCfg, nil
}

// stsEndpointOption points an STS client at cfg.STSEndpoint, when set.
func stsEndpointOption(cfg Config) func(*sts.Options) {
	return func(o *sts.Options) {
		if cfg.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.STSEndpoint)
		}
	}
}

// noRetries is the per-operation option for StartRecovery and
// TerminateRecoveryInstances: exactly one attempt. Neither has an
// idempotency token, and the SDK retries 5xx answers, timeouts and reset
// connections: after a lost answer, an automatic retry either creates a
// second job for the same servers or fails with ConflictException against
// our own first job, and either way we would not know which job is ours.
// So the call is made once, and an unclear outcome (IsUnclear) goes back to
// the engine, which lists the jobs created since and adopts the one that
// carries its tags (ripcord:execution and ripcord:batch) before it tries
// again (docs/drs.md §11; the engine's side: docs/architecture.md, engine).
func noRetries(o *awsdrs.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}

// Rate is the rate (requests per second) the Client now allows itself: the
// configured RateLimit, or less while DRS is throttling.
func (c *Client) Rate() float64 { return c.limiter.rate() }

// Region is the region the Client calls.
func (c *Client) Region() string { return c.region }

// TargetKey names what the Client calls, the same in every process with the
// same configuration: endpoint, region and role. Processes that launch in
// one target coordinate under this name (the engine's launch mutex).
func (c *Client) TargetKey() string {
	return c.cfg.Endpoint + "|" + c.region + "|" + c.cfg.RoleARN
}

// SetShare makes the Client allow itself a 1/n share of its configured rate
// (and burst): n processes with the same configuration that share a target
// (ripcord serve replicas) then send no more than one would. n < 1 counts
// as 1.
func (c *Client) SetShare(n int) { c.limiter.share(max(n, 1)) }

// Calls returns how many requests the Client has sent to DRS, by operation
// (DescribeJobs, StartRecovery, ...). SDK retries count: each is a request
// DRS answers and counts against its rate.
func (c *Client) Calls() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

func (c *Client) count(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

// callGuard runs the caller's guard (ripcord.WithCallGuard: a driver's
// lease) as the last step before the request is sent, after the rate
// limiter's wait and signing: a request it refuses is not sent and not
// retried.
type callGuard struct{}

func (callGuard) ID() string { return "ripcord.CallGuard" }

func (callGuard) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if err := ripcord.CheckCallGuard(ctx); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &aws.RequestCanceledError{Err: &guardError{err}}
	}
	return next.HandleFinalize(ctx, in)
}

// attemptGate runs once per attempt, after the SDK's retry loop and before
// signing: it waits for the rate limiter, counts the request, and adjusts
// the limiter to DRS's answer.
type attemptGate struct{ c *Client }

func (attemptGate) ID() string { return "ripcord.AttemptGate" }

func (g attemptGate) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if err := g.c.limiter.wait(ctx); err != nil {
		// Not sent. A canceled error, so that the SDK does not retry it.
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &aws.RequestCanceledError{Err: err}
	}
	g.c.count(awsmiddleware.GetOperationName(ctx))
	out, md, err := next.HandleFinalize(ctx, in)
	switch {
	case err == nil:
		g.c.limiter.succeeded()
	case isThrottle(err) && !errors.As(err, new(*credentialError)):
		// DRS's throttling only: STS throttling AssumeRole says nothing
		// about DRS's rate.
		g.c.limiter.throttled()
	}
	return out, md, err
}

// callState follows one call through the SDK: whether a request of it was
// handed to the HTTP transport.
type callState struct{ sent atomic.Bool }

type callStateKey struct{}

func withCallState(ctx context.Context) (context.Context, *callState) {
	st := &callState{}
	return context.WithValue(ctx, callStateKey{}, st), st
}

// sendMarker records on the call's state that a request went to the
// transport.
// It also notes DRS's clock from each answer's Date header (see
// ServerTime).
type sendMarker struct {
	next aws.HTTPClient
	c    *Client
}

func (m sendMarker) Do(r *http.Request) (*http.Response, error) {
	if st, ok := r.Context().Value(callStateKey{}).(*callState); ok {
		st.sent.Store(true)
	}
	markAttemptSent(r.Context())
	resp, err := m.next.Do(r)
	if err == nil && resp != nil {
		if t, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			m.c.noteServerTime(t)
		}
	}
	return resp, err
}

// noteServerTime keeps the latest time DRS has said it is.
func (c *Client) noteServerTime(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.serverTime) {
		c.serverTime = t
	}
}

// ServerTime is the latest time DRS said it was, in the Date header of an
// answer (to the second), and whether any answer has come yet. It is DRS's
// clock, not ripcord's: a job DRS creates after that answer has a creation
// time at or after it, whatever ripcord's clock says. The engine records it
// with each launch intent and looks for the intent's job from there, so
// that clocks that disagree cannot hide the job (docs/drs.md §6).
func (c *Client) ServerTime() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverTime, !c.serverTime.IsZero()
}

// bodyGuard works around a client-side race between smithy-go and net/http
// (aws-sdk-go-v2#2737). smithy-go wraps the request body in a reader whose
// WriteTo returns io.EOF, an error, once the SDK has closed it, and the SDK
// closes it as soon as the response arrives. net/http's write loop, after
// sending Content-Length bytes, copies the rest of the body (expecting
// nothing) through that WriteTo; if the server has already answered, the
// copy fails, the transport closes the connection and reading the response
// fails with "use of closed network connection". For StartRecovery that
// turns a clear answer into an unclear one. Hiding WriteTo makes the copy
// use Read, which reports a clean EOF.
type bodyGuard struct{ next aws.HTTPClient }

func (g bodyGuard) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return g.next.Do(r)
}

// credentialGuard marks errors from the credential chain (including
// AssumeRole), so that they are reported as a credentials problem and not
// as DRS's.
type credentialGuard struct{ next aws.CredentialsProvider }

func (g credentialGuard) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := g.next.Retrieve(ctx)
	if err != nil {
		return cr, &credentialError{err}
	}
	return cr, nil
}

type credentialError struct{ err error }

func (e *credentialError) Error() string { return "getting credentials: " + e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// isThrottle reports whether err is DRS (or AWS's front door) throttling,
// by the same rule as ripcord.Classify.
func isThrottle(err error) bool {
	status, _ := responseOf(err)
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return ripcord.IsThrottleType(code, status)
}
