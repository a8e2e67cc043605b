package ripcord

import (
	"context"
	"errors"
	"net/http"
)

// ErrorClass is what an error means for what to do next. [Classify] is the
// one place that decides it: the engine acts on the class, and the DRS
// adapter's helpers (drs.IsConflict, ...) answer from it.
type ErrorClass string

// Error classes.
const (
	// ClassNone is the class of a nil error.
	ClassNone ErrorClass = ""
	// ClassConflict: a resource is held by another active DRS job. Nothing
	// changed; the same call may succeed once that job ends.
	ClassConflict ErrorClass = "conflict"
	// ClassQuota: a DRS quota would be exceeded (active jobs, servers in
	// active jobs). Nothing changed; wait for jobs to end.
	ClassQuota ErrorClass = "quota"
	// ClassThrottling: DRS refused the request rate. Slow down, try again.
	ClassThrottling ErrorClass = "throttling"
	// ClassTransient: a 5xx, a timeout, a connection that failed or was
	// reset, a credential service that did not answer. The same call may
	// work later: keep trying, and show the outage.
	ClassTransient ErrorClass = "transient"
	// ClassPermanent: repeating the call unchanged fails again (access
	// denied, unrecognized client, bad signature, expired token,
	// validation, an uninitialized account, a quota smaller than a
	// batch, a resource that does not exist). A person must act.
	ClassPermanent ErrorClass = "permanent"
)

// throttleTypes are the error types AWS services use for throttling.
var throttleTypes = map[string]bool{
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"TransactionInProgressException":         true,
	"RequestLimitExceeded":                   true,
	"BandwidthLimitExceeded":                 true,
	"LimitExceededException":                 true,
	"RequestThrottled":                       true,
	"SlowDown":                               true,
	"PriorRequestNotComplete":                true,
	"EC2ThrottledException":                  true,
}

// IsThrottleType reports whether an AWS error type (with its HTTP status,
// 0 when unknown) means throttling.
func IsThrottleType(typ string, status int) bool {
	return throttleTypes[typ] || status == http.StatusTooManyRequests
}

// Classify returns err's class. For a *DRSError it reads what DRS answered
// (the type and HTTP status) and, when no answer arrived, the code the
// adapter gave it: EUNAVAILABLE (timeouts, connections, a credential
// service down) is transient, anything else (credentials refused before a
// request could be signed, an answer that could not be read) permanent. An
// error with no HTTP status is never transient just for lacking one. For
// other errors: a context's end and EUNAVAILABLE are transient, the rest
// permanent.
func Classify(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	var d *DRSError
	if errors.As(err, &d) {
		switch {
		case d.Type == "ConflictException":
			return ClassConflict
		case d.Type == "ServiceQuotaExceededException":
			// A batch over the servers-per-job quota never fits.
			if d.Err != nil && d.Err.Code == EINVALID {
				return ClassPermanent
			}
			return ClassQuota
		case IsThrottleType(d.Type, d.Status):
			return ClassThrottling
		case d.Unclear, d.Status >= 500:
			return ClassTransient
		case d.Status >= 400:
			return ClassPermanent
		case d.Err != nil && d.Err.Code == EUNAVAILABLE:
			return ClassTransient
		}
		return ClassPermanent
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ErrorCode(err) == EUNAVAILABLE {
		return ClassTransient
	}
	return ClassPermanent
}
