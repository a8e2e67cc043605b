// Package twin reads a DRS account's inventory into a simulator scenario: a
// rehearsal twin (`ripcord sim snapshot`, docs/drssim.md "Rehearsal twin").
// Source servers, launch configurations, active and recent completed jobs,
// recovery instances, and the durations of the account's own past jobs
// become a drssim.Scenario, so a plan can be rehearsed against the twin with
// nothing launched in AWS.
//
// The reader is read-only by construction: its DRS client refuses, before
// anything is sent, every operation whose name does not start with
// Describe, Get or List (ReadOnly), and the Reader has no method that
// would need one.
package twin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Reader reads one account and region of DRS. Make it with New.
type Reader struct {
	api    *awsdrs.Client
	region string
	seen   *serverTime
}

// New returns a Reader on the DRS that cfg reaches (its region, its
// credentials; an endpoint from the environment, AWS_ENDPOINT_URL_DRS, or
// from optFns, e.g. BaseEndpoint for a simulator). Whatever optFns do, the
// read-only guard is added last.
func New(cfg aws.Config, optFns ...func(*awsdrs.Options)) *Reader {
	seen := &serverTime{}
	opts := append(append([]func(*awsdrs.Options){}, optFns...), ReadOnly, seen.record)
	return &Reader{api: awsdrs.NewFromConfig(cfg, opts...), region: cfg.Region, seen: seen}
}

// ReadOnly is a DRS client option that makes the client refuse every
// operation but reads (names starting Describe, Get or List) before the
// request is built, let alone sent: the call fails with a
// *MutationRefusedError.
func ReadOnly(o *awsdrs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		// After the SDK's own initialize steps, one of which names the
		// operation (an unnamed one is refused too).
		return s.Initialize.Add(readOnlyGuard{}, middleware.After)
	})
}

// IsRead reports whether a DRS operation name is a read: Describe*, Get*
// or List*.
func IsRead(operation string) bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(operation, p) {
			return true
		}
	}
	return false
}

// MutationRefusedError is the error of an operation ReadOnly refused.
type MutationRefusedError struct{ Operation string }

func (e *MutationRefusedError) Error() string {
	return fmt.Sprintf("twin: refusing DRS operation %s: the rehearsal twin's reader only reads (Describe*, Get*, List*)", e.Operation)
}

type readOnlyGuard struct{}

func (readOnlyGuard) ID() string { return "ripcord.TwinReadOnly" }

func (readOnlyGuard) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	if op := awsmiddleware.GetOperationName(ctx); !IsRead(op) {
		return middleware.InitializeOutput{}, middleware.Metadata{}, &MutationRefusedError{Operation: op}
	}
	return next.HandleInitialize(ctx, in)
}

// serverTime keeps the latest Date DRS answered with: the snapshot's
// reference time, on DRS's clock (a simulator's is simulated).
type serverTime struct {
	mu     sync.Mutex
	latest time.Time
}

func (t *serverTime) record(o *awsdrs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("ripcord.TwinServerTime",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
				middleware.DeserializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
					if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
						t.mu.Lock()
						if d.After(t.latest) {
							t.latest = d
						}
						t.mu.Unlock()
					}
				}
				return out, md, err
			}), middleware.After)
	})
}

// now is the latest time DRS answered with, or the local clock's when none
// did.
func (t *serverTime) now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.latest.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return t.latest.UTC()
}
