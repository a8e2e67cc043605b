package drs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ripcord-dr/ripcord"
)

// DRS error types the engine acts on, as ErrorCode() spells them. Branch
// on these strings, not on the SDK's typed errors: the SDK returns a typed
// error only for the types the model lists for that operation, so for
// example a ResourceNotFoundException from StartRecovery arrives as a
// generic API error (docs/drs.md §3).
const (
	errConflict      = "ConflictException"
	errQuota         = "ServiceQuotaExceededException"
	errNotFound      = "ResourceNotFoundException"
	errAccessDenied  = "AccessDeniedException"
	errValidation    = "ValidationException"
	errUninitialized = "UninitializedAccountException"
)

// Service Quotas codes of DRS's job limits (docs/drs.md §4).
const (
	quotaServersPerJob       = "L-B827C881"
	quotaActiveJobs          = "L-D88FAC3A"
	quotaServersInActiveJobs = "L-05AFA8C6"
)

var quotaNames = map[string]string{
	quotaServersPerJob:       "source servers per job",
	quotaActiveJobs:          "active jobs",
	quotaServersInActiveJobs: "source servers in active jobs",
}

// Error types of AWS's front door and of STS that mean the credentials or
// the role are wrong.
var credentialErrorTypes = map[string]bool{
	"UnrecognizedClientException":         true,
	"InvalidClientTokenId":                true,
	"InvalidSignatureException":           true,
	"SignatureDoesNotMatch":               true,
	"IncompleteSignatureException":        true,
	"MissingAuthenticationTokenException": true,
	"ExpiredTokenException":               true,
	"ExpiredToken":                        true,
}

// mutating lists the operations that change DRS. Their outcome can be
// unclear; a read's cannot matter.
var mutating = map[string]bool{"StartRecovery": true, "TerminateRecoveryInstances": true, "StartFailbackLaunch": true}

// IsConflict reports whether DRS refused the call because a resource is in
// another active job (ConflictException). Nothing was created; the call
// may succeed once that job has ended. Like IsQuota and IsThrottling, it
// answers from ripcord.Classify, the one classification the engine acts on.
func IsConflict(err error) bool { return ripcord.Classify(err) == ripcord.ClassConflict }

// IsQuota reports whether DRS refused the call because a quota on active
// jobs would be exceeded (ServiceQuotaExceededException): waiting for jobs
// to end helps. QuotaCode on the *ripcord.DRSError says which. A batch over
// the servers-per-job quota is not IsQuota: it never fits, and Classify
// calls it permanent.
func IsQuota(err error) bool { return ripcord.Classify(err) == ripcord.ClassQuota }

// IsThrottling reports whether DRS refused the call because of its request
// rate (after the SDK's retries for a read; at once for StartRecovery and
// TerminateRecoveryInstances). The Client has already slowed down; the call
// is safe to repeat.
func IsThrottling(err error) bool { return ripcord.Classify(err) == ripcord.ClassThrottling }

// IsNotFound reports whether DRS said a named resource does not exist.
func IsNotFound(err error) bool { return errType(err) == errNotFound }

// IsAccessDenied reports whether the call was refused for want of
// permissions or valid credentials (including a role that could not be
// assumed).
func IsAccessDenied(err error) bool {
	var de *ripcord.DRSError
	if !errors.As(err, &de) {
		return false
	}
	if errors.As(de.Cause, new(*credentialError)) {
		return de.Err.Code == ripcord.EINVALID
	}
	return de.Type == errAccessDenied || de.Type == "AccessDenied" || credentialErrorTypes[de.Type]
}

// IsUnclear reports whether a call that changes DRS (StartRecovery,
// TerminateRecoveryInstances, StartFailbackLaunch) may or may not have taken effect: the request
// was sent and what came back was no clear refusal (a timeout, a lost or
// reset connection, a 5xx answer, an answer that could not be read, or the
// caller's context ending while waiting). The caller must find out (list the
// jobs created since the request and look for the one with its tags,
// ripcord:execution and ripcord:batch) before trying again.
func IsUnclear(err error) bool {
	var de *ripcord.DRSError
	return errors.As(err, &de) && de.Unclear
}

// guardError carries the error of the caller's call guard
// (ripcord.WithCallGuard) through the SDK, to be returned unchanged.
type guardError struct{ err error }

func (e *guardError) Error() string { return e.err.Error() }
func (e *guardError) Unwrap() error { return e.err }

func errType(err error) string {
	var de *ripcord.DRSError
	if errors.As(err, &de) {
		return de.Type
	}
	return ""
}

// translate turns an error of the SDK from operation op into a
// *ripcord.DRSError. subjects are the IDs the request named, used when DRS
// does not say which one it means.
func (c *Client) translate(op string, err error, st *callState, subjects []string) error {
	if ge := (*guardError)(nil); errors.As(err, &ge) {
		return ge.err // the caller's own refusal: nothing was sent
	}
	de := &ripcord.DRSError{Op: op, Cause: err}
	de.Status, de.RequestID = responseOf(err)
	var ae smithy.APIError
	var ce *credentialError
	switch {
	case errors.As(err, &ce):
		// Checked first: a failed AssumeRole carries STS's APIError and
		// answer, which are not DRS's.
		de.Status, de.RequestID = 0, ""
		if errors.As(ce.err, &ae) {
			de.Type = ae.ErrorCode()
		}
		de.Err = c.credentialFailure(op, ce)
		return de // nothing was sent
	case errors.As(err, &ae):
		de.Type = ae.ErrorCode()
		resourceFields(err, de)
		de.Err = c.apiFailure(de, ae.ErrorMessage(), subjects)
	default:
		de.Err = c.transportFailure(op, err)
	}
	if mutating[op] && st != nil && st.sent.Load() && !refused(de) && !neverSent(err) {
		de.Unclear = true
		de.Err.Code = ripcord.EUNAVAILABLE
		de.Err.Hint = fmt.Sprintf("the request reached DRS but no clear answer came back, so %s may or may not have taken effect: "+
			"look for the job it would have created (jobs created since the request, recognized by ripcord's tags %s and %s) before calling it again",
			op, ripcord.TagExecution, ripcord.TagBatch)
	}
	return de
}

// responseOf returns the HTTP status and request ID of the answer err
// carries, or zeros when no answer arrived.
func responseOf(err error) (int, string) {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ResponseError == nil || re.Response == nil || re.Response.Response == nil {
		return 0, ""
	}
	return re.Response.StatusCode, re.RequestID
}

// refused reports whether DRS answered with a 4xx: it looked at the request
// and turned it down, so nothing changed.
func refused(de *ripcord.DRSError) bool { return de.Status >= 400 && de.Status < 500 }

// neverSent reports whether err shows the request never left: the
// connection could not be made.
func neverSent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func resourceFields(err error, de *ripcord.DRSError) {
	var conflict *types.ConflictException
	var notFound *types.ResourceNotFoundException
	var quota *types.ServiceQuotaExceededException
	switch {
	case errors.As(err, &conflict):
		de.ResourceID, de.ResourceType = aws.ToString(conflict.ResourceId), aws.ToString(conflict.ResourceType)
	case errors.As(err, &notFound):
		de.ResourceID, de.ResourceType = aws.ToString(notFound.ResourceId), aws.ToString(notFound.ResourceType)
	case errors.As(err, &quota):
		de.ResourceID, de.ResourceType = aws.ToString(quota.ResourceId), aws.ToString(quota.ResourceType)
		de.QuotaCode = aws.ToString(quota.QuotaCode)
	}
}

// where names the target in messages: the region, and the account when the
// role ARN tells it.
func (c *Client) where() string {
	if f := strings.SplitN(c.cfg.RoleARN, ":", 6); len(f) == 6 {
		return "account " + f[4] + " " + c.region
	}
	return c.region
}

// identity says whose permissions are used, for hints.
func (c *Client) identity() string {
	switch {
	case c.cfg.RoleARN != "":
		return "role " + c.cfg.RoleARN
	case c.cfg.Profile != "":
		return "the credentials of profile " + c.cfg.Profile
	}
	return "the credentials in use (environment, shared files or instance role)"
}

func (c *Client) credentialFailure(op string, ce *credentialError) *ripcord.Error {
	// STS not answering, or answering that it is overloaded, is not a
	// wrong role: the same call may work later. The instance metadata
	// service not answering is different: on a machine that is not an EC2
	// instance it never will, so that means no credentials at all.
	status, _ := responseOf(ce.err)
	var ae smithy.APIError
	code := ""
	if errors.As(ce.err, &ae) {
		code = ae.ErrorCode()
	}
	if !fromService(ce.err, "ec2imds") && (status >= 500 || ripcord.IsThrottleType(code, status) || noAnswer(ce.err)) {
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("%s %s in %s: getting credentials failed: %v", opPrefix(op), op, c.where(), ce.err),
			Hint: "the credential service (STS" + c.stsWhere() + ") did not answer or is overloaded; " +
				"the call is safe to repeat, and ripcord will try again"}
	}
	if c.cfg.RoleARN != "" {
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("%s %s in %s: cannot assume role %s: %v", opPrefix(op), op, c.where(), c.cfg.RoleARN, ce.err),
			Hint: "check the role ARN (a typo shows up as AccessDenied), that the role's trust policy allows the " +
				"credentials ripcord runs with, and that the external ID matches the one in the trust policy"}
	}
	return &ripcord.Error{Code: ripcord.EINVALID,
		Message: fmt.Sprintf("%s %s in %s: no usable AWS credentials: %v", opPrefix(op), op, c.where(), ce.err),
		Hint:    "set credentials the standard way (AWS_PROFILE or --profile, environment variables, or an instance role)"}
}

// stsWhere names the STS endpoint for hints, when one is configured.
func (c *Client) stsWhere() string {
	if c.cfg.STSEndpoint != "" {
		return " at " + c.cfg.STSEndpoint
	}
	return ""
}

// fromService reports whether err came from an operation of the named SDK
// client (ServiceID, e.g. ec2imds, STS).
func fromService(err error, serviceID string) bool {
	var oe *smithy.OperationError
	for e := err; errors.As(e, &oe); e = oe.Err {
		if oe.ServiceID == serviceID {
			return true
		}
	}
	return false
}

// noAnswer reports whether err shows that no answer came: the request
// could not be sent (connection refused, unknown host), the connection
// failed or timed out, or the caller gave up waiting.
func noAnswer(err error) bool {
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	return errors.As(err, &send) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, new(*aws.RequestCanceledError)) || errors.As(err, new(*smithy.CanceledError)) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}

// service names who answers op.
func service(op string) string {
	if op == "GetCallerIdentity" {
		return "STS"
	}
	return "DRS"
}

// opPrefix starts a message about op: "drs" or "sts".
func opPrefix(op string) string { return strings.ToLower(service(op)) }

func (c *Client) apiFailure(de *ripcord.DRSError, msg string, subjects []string) *ripcord.Error {
	prefix := fmt.Sprintf("%s %s in %s: ", opPrefix(de.Op), de.Op, c.where())
	svc := service(de.Op)
	said := de.Type
	if msg != "" {
		said += ": " + msg
	}
	switch {
	case de.Type == errConflict:
		what := c.resource(de, subjects)
		return &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: prefix + what + " is held by another active DRS job (" + said + ")",
			Hint: "DRS runs one job per server at a time, whatever its type or who started it (the console, a TERMINATE job): " +
				"wait until the job holding " + what + " is no longer PENDING or STARTED, then try again"}
	case de.Type == errQuota:
		name := quotaNames[de.QuotaCode]
		if name == "" {
			name = "a DRS quota"
		}
		code := de.QuotaCode
		if code == "" {
			code = "unknown quota code"
		}
		e := &ripcord.Error{Code: ripcord.ECONFLICT,
			Message: fmt.Sprintf("%squota %s (%s) would be exceeded (%s)", prefix, code, name, said),
			Hint: fmt.Sprintf("wait for active jobs in %s to finish, or ask AWS for more in Service Quotas (quota code %s) "+
				"and raise the target's limit to match", c.where(), code)}
		if de.QuotaCode == quotaServersPerJob {
			e.Code = ripcord.EINVALID
			e.Hint = "launch fewer source servers per job (DRS's default is 100, quota code " + quotaServersPerJob +
				"): the target's servers-per-job limit must not exceed the account's quota"
		}
		return e
	case ripcord.IsThrottleType(de.Type, de.Status) && svc == "STS":
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "throttled by STS (" + said + ")",
			Hint:    "STS is refusing this account's request rate; the call is safe to repeat later"}
	case ripcord.IsThrottleType(de.Type, de.Status):
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "throttled by " + svc + " (" + said + ")",
			Hint: fmt.Sprintf("ripcord slowed its requests to %s to %.2g/s and will try again; if this persists, "+
				"lower the target's rate limit (now %g/s) or look for other clients calling DRS in this account",
				c.where(), c.Rate(), c.cfg.RateLimit)}
	case de.Type == errAccessDenied || de.Type == "AccessDenied":
		return c.accessDenied(de, prefix, said, msg)
	case credentialErrorTypes[de.Type]:
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: prefix + "AWS did not accept the credentials (" + said + ")",
			Hint:    fmt.Sprintf("check %s: they may be wrong, expired, or for another partition", c.identity())}
	case de.Type == errNotFound:
		return &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: prefix + c.resource(de, subjects) + " not found (" + said + ")",
			Hint:    "check the ID and that it belongs to " + c.where()}
	case de.Type == errValidation:
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: prefix + svc + " rejected the request (" + said + ")",
			Hint:    "check the IDs and values in the request; if they look right, this is a ripcord bug worth reporting"}
	case de.Type == errUninitialized:
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: prefix + "DRS is not initialized (" + said + ")",
			Hint:    "initialize Elastic Disaster Recovery in " + c.where() + " (the DRS console's first page, or InitializeService)"}
	case de.Status >= 500:
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("%s%s failed (HTTP %d, %s)", prefix, svc, de.Status, said),
			Hint:    "a fault on AWS's side; reads were retried by the SDK, and the call is safe to repeat later"}
	}
	return &ripcord.Error{Code: ripcord.EINTERNAL,
		Message: fmt.Sprintf("%sunexpected answer from %s (HTTP %d, %s)", prefix, svc, de.Status, said)}
}

// transportFailure is a call that got no answer it could read. Every
// such failure has a code that says what to do: no answer (refused,
// unknown host, timed out, cut off, or the caller gave up) is
// EUNAVAILABLE, which ripcord.Classify calls transient; an answer that
// arrived whole but could not be parsed is EINTERNAL.
func (c *Client) transportFailure(op string, err error) *ripcord.Error {
	prefix := fmt.Sprintf("%s %s in %s: ", opPrefix(op), op, c.where())
	svc := service(op)
	var send *smithyhttp.RequestSendError
	var deser *smithy.DeserializationError
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, new(*aws.RequestCanceledError)), errors.As(err, new(*smithy.CanceledError)):
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "gave up waiting: " + innermost(err).Error()}
	case errors.As(err, &dns):
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "no answer from " + svc + ": " + dns.Error(),
			Hint: fmt.Sprintf("the %s endpoint's host name %q does not resolve: check the endpoint (%s) and DNS",
				svc, dns.Name, c.endpointSetting(op))}
	case errors.As(err, &send):
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "no answer from " + svc + ": " + send.Err.Error(),
			Hint:    fmt.Sprintf("check the network path to the %s endpoint of %s (%s)", svc, c.where(), c.endpointSetting(op))}
	case errors.As(err, &deser):
		if cutOff(deser) {
			return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
				Message: prefix + svc + "'s answer was cut off: " + deser.Error(),
				Hint:    "the connection failed while the answer arrived; the call is safe to repeat"}
		}
		return &ripcord.Error{Code: ripcord.EINTERNAL,
			Message: prefix + svc + "'s answer could not be read: " + deser.Error()}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: prefix + "no answer from " + svc + ": " + netErr.Error(),
			Hint:    fmt.Sprintf("check the network path to the %s endpoint of %s (%s)", svc, c.where(), c.endpointSetting(op))}
	}
	return &ripcord.Error{Code: ripcord.EINTERNAL, Message: prefix + err.Error()}
}

// cutOff reports whether reading an answer failed because the connection
// did (a timeout, a reset, an early end), not because of what it said.
func cutOff(deser *smithy.DeserializationError) bool {
	var netErr net.Error
	return errors.Is(deser, io.ErrUnexpectedEOF) || errors.Is(deser, syscall.ECONNRESET) ||
		(errors.As(deser, &netErr) && netErr.Timeout())
}

// endpointSetting names where op's endpoint comes from, for hints.
func (c *Client) endpointSetting(op string) string {
	if service(op) == "STS" {
		if c.cfg.STSEndpoint != "" {
			return "STS endpoint " + c.cfg.STSEndpoint
		}
		return "AWS_ENDPOINT_URL_STS, or STS in the region"
	}
	if c.cfg.Endpoint != "" {
		return "endpoint " + c.cfg.Endpoint
	}
	return "AWS_ENDPOINT_URL_DRS, or DRS in the region"
}

// innermost returns the deepest error of a single-Unwrap chain.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// resource names what an error is about: DRS's resourceId when it gave
// one, else the IDs of the request.
func (c *Client) resource(de *ripcord.DRSError, subjects []string) string {
	kind := resourceKind(de.ResourceType, de.Op)
	if de.ResourceID != "" {
		return kind + " " + de.ResourceID
	}
	switch len(subjects) {
	case 0:
		return "a " + kind
	case 1:
		return kind + " " + subjects[0]
	}
	const show = 5
	if len(subjects) <= show {
		return "one of the " + kind + "s " + strings.Join(subjects, ", ")
	}
	return fmt.Sprintf("one of the %ss %s and %d more", kind, strings.Join(subjects[:show], ", "), len(subjects)-show)
}

func resourceKind(resourceType, op string) string {
	switch strings.ToUpper(resourceType) {
	case "SOURCE_SERVER":
		return "source server"
	case "RECOVERY_INSTANCE":
		return "recovery instance"
	case "JOB":
		return "job"
	case "RECOVERY_SNAPSHOT":
		return "recovery snapshot"
	}
	switch op {
	case "TerminateRecoveryInstances", "StartFailbackLaunch", "ReverseReplication", "StopFailback":
		return "recovery instance"
	}
	return "source server"
}

// accessDenied names who lacks which action: the action IAM refused (DRS
// may refuse one the operation needs besides its own, such as
// drs:TagResource for StartRecovery with tags), and the target's role, or
// the role or user the refusal names.
func (c *Client) accessDenied(de *ripcord.DRSError, prefix, said, msg string) *ripcord.Error {
	d := parseDenial(msg)
	action := d.action
	if action == "" {
		action = opPrefix(de.Op) + ":" + de.Op
	}
	who := c.identity()
	switch {
	case c.cfg.RoleARN != "":
		who = "role " + c.cfg.RoleARN
	case d.principal != "" && roleOf(d.principal) != d.principal:
		who = "role " + roleOf(d.principal)
	case d.principal != "":
		who = d.principal
	}
	on := ""
	if d.resource != "" && d.resource != "*" {
		on = " on " + d.resource
	}
	return &ripcord.Error{Code: ripcord.EINVALID,
		Message: fmt.Sprintf("%s%s is not allowed %s%s (%s)", prefix, who, action, on, said),
		Hint: fmt.Sprintf("grant %s to %s in %s (an IAM policy attached to it); `ripcord iam-policy -f FILE PLAN` prints "+
			"the least-privilege policy the plan needs (docs/iam.md)", action, who, c.where())}
}
