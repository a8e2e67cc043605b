package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// statusOf is the one table from error codes to HTTP statuses; docs/api.md
// prints it. A code that is not in it (an error that is not a
// *ripcord.Error) is EINTERNAL.
var statusOf = map[string]int{
	ripcord.EINVALID:        http.StatusBadRequest,
	client.EUNAUTHENTICATED: http.StatusUnauthorized,
	client.EFORBIDDEN:       http.StatusForbidden,
	ripcord.ENOTFOUND:       http.StatusNotFound,
	client.EMETHOD:          http.StatusMethodNotAllowed,
	ripcord.ECONFLICT:       http.StatusConflict,
	client.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	client.EINVALIDPLAN:     http.StatusUnprocessableEntity,
	client.ERATELIMITED:     http.StatusTooManyRequests,
	ripcord.EINTERNAL:       http.StatusInternalServerError,
	ripcord.EUNAVAILABLE:    http.StatusServiceUnavailable,
}

// Status returns the HTTP status of an error code: the one table the
// server answers by (docs/api.md).
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// apiError is an error answer with more than a *ripcord.Error carries:
// headers (Retry-After, Allow, WWW-Authenticate) and a plan's problems.
type apiError struct {
	err      *ripcord.Error
	header   http.Header
	problems []client.Problem
}

func (e *apiError) Error() string { return e.err.Error() }

// Unwrap lets ripcord.ErrorCode see the code.
func (e *apiError) Unwrap() error { return e.err }

func fail(code, message, hint string) *apiError {
	return &apiError{err: &ripcord.Error{Code: code, Message: message, Hint: hint}}
}

func (e *apiError) with(key, value string) *apiError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Add(key, value)
	return e
}

func unauthenticated(message string) *apiError {
	return fail(client.EUNAUTHENTICATED, message,
		"send the header Authorization: Bearer TOKEN with a live token; an admin creates one with: ripcord token create --role ROLE --name NAME").
		with("WWW-Authenticate", `Bearer realm="ripcord"`)
}

func rateLimited(retry time.Duration) *apiError {
	secs := int64((retry + time.Second - 1) / time.Second)
	secs = max(secs, 1)
	return fail(client.ERATELIMITED, "too many failed sign-ins from this address",
		"wait "+strconv.FormatInt(secs, 10)+"s (Retry-After) and sign in with a valid token").
		with("Retry-After", strconv.FormatInt(secs, 10))
}

// errorBody returns what err answers: its status, headers and body. An
// internal error's message is not shown (it belongs in the log): the
// request ID is, to find it there.
func errorBody(err error, requestID string) (int, http.Header, client.ErrorBody) {
	var ae *apiError
	var re *ripcord.Error
	var body client.ErrorBody
	var header http.Header
	switch {
	case errors.As(err, &ae):
		header = ae.header
		body.Error = client.ErrorDetail{Code: ae.err.Code, Message: ae.err.Message, Hint: ae.err.Hint, Problems: ae.problems}
	case errors.As(err, &re):
		body.Error = client.ErrorDetail{Code: re.Code, Message: re.Message, Hint: re.Hint}
	default:
		body.Error = client.ErrorDetail{Code: ripcord.EINTERNAL}
	}
	if _, known := statusOf[body.Error.Code]; !known {
		body.Error = client.ErrorDetail{Code: ripcord.EINTERNAL}
	}
	if body.Error.Code == ripcord.EINTERNAL {
		body.Error.Message = "internal error"
		body.Error.Hint = "the server's log tells more under request ID " + requestID
	}
	if body.Error.Message == "" {
		body.Error.Message = body.Error.Code
	}
	return Status(body.Error.Code), header, body
}
