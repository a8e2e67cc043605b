package drs

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Outcomes of an Attempt that are not DRS's error codes. DRS's own codes
// (ConflictException, ThrottlingException, ...) are CamelCase; these are
// lower case, so the two cannot be confused.
const (
	// OutcomeOK: DRS answered with success.
	OutcomeOK = "ok"
	// OutcomeNoResponse: the request was sent and no answer came (the
	// connection was lost or the request timed out).
	OutcomeNoResponse = "no_response"
	// OutcomeNoConnection: the request was handed to the HTTP client but
	// no connection to DRS could be made (DNS, dial): DRS never saw it.
	OutcomeNoConnection = "no_connection"
)

// Attempt is one DRS request the SDK handed to the HTTP client: every
// attempt of a call, the SDK's retries included. A request the rate
// limiter or the caller's guard held back is not one.
type Attempt struct {
	// Operation is DRS's operation name (DescribeJobs, StartRecovery...).
	Operation string
	// Outcome is OutcomeOK, DRS's error code (ConflictException,
	// ThrottlingException, InternalServerException, ...), "http_NNN" for
	// an error answer without a code, OutcomeNoResponse or
	// OutcomeNoConnection.
	Outcome string
	// Latency is from the request's hand-over to the HTTP client to its
	// answer read and decoded, on Config.Clock when one is given.
	Latency time.Duration
}

// attemptSentKey carries, per attempt, whether the request reached the
// HTTP transport (set by sendMarker).
type attemptSentKey struct{}

// observer is the first middleware of the deserialize step, so it wraps
// one attempt (the retry loop is in the finalize step, before it): the
// sending, the answer and its decoding into DRS's error code.
type observer struct{ c *Client }

func (observer) ID() string { return "ripcord.Observe" }

func (o observer) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	sent := new(atomic.Bool)
	ctx = context.WithValue(ctx, attemptSentKey{}, sent)
	start := o.c.now()
	out, md, err := next.HandleDeserialize(ctx, in)
	if sent.Load() {
		o.c.cfg.Observe(Attempt{Operation: awsmiddleware.GetOperationName(ctx), Outcome: outcome(err), Latency: o.c.now().Sub(start)})
	}
	return out, md, err
}

// markAttemptSent notes on the attempt's context that its request reached
// the transport.
func markAttemptSent(ctx context.Context) {
	if sent, ok := ctx.Value(attemptSentKey{}).(*atomic.Bool); ok {
		sent.Store(true)
	}
}

// outcome names how an attempt ended (see Attempt.Outcome).
func outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return ae.ErrorCode()
	}
	if status, _ := responseOf(err); status != 0 {
		return "http_" + strconv.Itoa(status)
	}
	if neverSent(err) {
		return OutcomeNoConnection
	}
	return OutcomeNoResponse
}

// now is the Client's time: Config.Clock's, else the wall clock's.
func (c *Client) now() time.Time {
	if c.cfg.Clock != nil {
		return c.cfg.Clock.Now()
	}
	return time.Now()
}
