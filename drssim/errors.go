package drssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answered on the wire in DRS's REST-JSON form: the
// X-Amzn-ErrorType header names the type (clients give the header
// precedence), the body carries message plus the members of that type's
// shape (docs/drs.md §3).
type apiError struct {
	Type   string // ValidationException, ConflictException, ...
	Status int
	Body   errorBody
	// RetryAfter, when > 0, is sent as Retry-After (integer seconds) and,
	// for throttling, as X-Amz-Retry-After in milliseconds.
	RetryAfter int
}

type errorBody struct {
	Message      string            `json:"message"`
	Code         string            `json:"code,omitempty"`
	Reason       string            `json:"reason,omitempty"`
	FieldList    []validationField `json:"fieldList,omitempty"`
	ResourceID   string            `json:"resourceId,omitempty"`
	ResourceType string            `json:"resourceType,omitempty"`
	ServiceCode  string            `json:"serviceCode,omitempty"`
	QuotaCode    string            `json:"quotaCode,omitempty"`
}

type validationField struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Type + ": " + e.Body.Message }

// Validation reasons from the model's ValidationExceptionReason enum.
const (
	reasonUnknownOperation = "unknownOperation"
	reasonCannotParse      = "cannotParse"
	reasonFieldValidation  = "fieldValidationFailed"
	reasonOther            = "other"
)

// Resource types used in error bodies. The real values are undocumented
// (docs/drs.md §3); these are consistent and descriptive.
const (
	resSourceServer     = "SOURCE_SERVER"
	resJob              = "JOB"
	resRecoveryInstance = "RECOVERY_INSTANCE"
	resSnapshot         = "RECOVERY_SNAPSHOT"
)

// Service Quotas codes quoted in the field for DRS (docs/drs.md §4).
const (
	quotaServersPerJob      = "L-B827C881"
	quotaActiveJobs         = "L-D88FAC3A"
	quotaServersInActiveJob = "L-05AFA8C6"
	quotaAPIRate            = "L-DRSSIM-API-RATE"
)

// conflictMessage is the one real ConflictException text observed from DRS.
const conflictMessage = "One or more Source Servers are currently being processed by a Job"

func errValidation(reason, msg string, fields ...validationField) *apiError {
	return &apiError{Type: "ValidationException", Status: http.StatusBadRequest,
		Body: errorBody{Message: msg, Code: "VALIDATION_EXCEPTION", Reason: reason, FieldList: fields}}
}

func errField(name, msg string) *apiError {
	return errValidation(reasonFieldValidation, fmt.Sprintf("Invalid value for %s: %s", name, msg),
		validationField{Name: name, Message: msg})
}

func errNotFound(resType, id string) *apiError {
	return &apiError{Type: "ResourceNotFoundException", Status: http.StatusNotFound,
		Body: errorBody{Message: fmt.Sprintf("%s %s not found", humanResource(resType), id),
			Code: "RESOURCE_NOT_FOUND", ResourceID: id, ResourceType: resType}}
}

func errConflict(resType, id, msg string) *apiError {
	return &apiError{Type: "ConflictException", Status: http.StatusConflict,
		Body: errorBody{Message: msg, Code: "CONFLICT", ResourceID: id, ResourceType: resType}}
}

func errQuota(quotaCode, resType, msg string) *apiError {
	return &apiError{Type: "ServiceQuotaExceededException", Status: http.StatusPaymentRequired,
		Body: errorBody{Message: msg, Code: "SERVICE_QUOTA_EXCEEDED", ResourceType: resType,
			ServiceCode: "drs", QuotaCode: quotaCode}}
}

func errThrottling(msg string) *apiError {
	return &apiError{Type: "ThrottlingException", Status: http.StatusTooManyRequests, RetryAfter: 1,
		Body: errorBody{Message: msg, ServiceCode: "drs", QuotaCode: quotaAPIRate}}
}

func errInternal(status int, msg string) *apiError {
	t := "InternalServerException"
	if status == http.StatusServiceUnavailable {
		t = "ServiceUnavailableException"
	}
	return &apiError{Type: t, Status: status, RetryAfter: 1, Body: errorBody{Message: msg}}
}

func errUninitialized() *apiError {
	return &apiError{Type: "UninitializedAccountException", Status: http.StatusBadRequest,
		Body: errorBody{Message: "Account is not initialized. Call InitializeService first.", Code: "UNINITIALIZED_ACCOUNT"}}
}

func errAccessDenied(msg string) *apiError {
	return &apiError{Type: "AccessDeniedException", Status: http.StatusForbidden,
		Body: errorBody{Message: msg, Code: "ACCESS_DENIED"}}
}

// Authentication failures are answered by AWS's front door, not by DRS, with
// the generic AWS error types.
func errMissingAuth() *apiError {
	return &apiError{Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden,
		Body: errorBody{Message: "Missing Authentication Token"}}
}

func errBadSignature(msg string) *apiError {
	return &apiError{Type: "IncompleteSignatureException", Status: http.StatusForbidden,
		Body: errorBody{Message: msg}}
}

func errUnknownOperation(method, path string) *apiError {
	return &apiError{Type: "UnknownOperationException", Status: http.StatusNotFound,
		Body: errorBody{Message: fmt.Sprintf("No DRS operation matches %s %s", method, path)}}
}

func errNotModelled(op string) *apiError {
	return errValidation(reasonUnknownOperation, fmt.Sprintf(
		"drssim does not model the DRS operation %s; the simulator models the operations an orchestrator uses (see docs/drssim.md)", op))
}

func humanResource(t string) string {
	switch t {
	case resSourceServer:
		return "Source server"
	case resJob:
		return "Job"
	case resRecoveryInstance:
		return "Recovery instance"
	case resSnapshot:
		return "Recovery snapshot"
	}
	return "Resource"
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Type)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
		if e.Type == "ThrottlingException" {
			h.Set("X-Amz-Retry-After", strconv.Itoa(e.RetryAfter*1000))
		}
	}
	b, _ := json.Marshal(e.Body)
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
