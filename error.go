package ripcord

import (
	"errors"
	"fmt"
)

// Error codes. They are few and generic on purpose: each maps to one HTTP
// status and one CLI exit status, in one table, where they are served.
const (
	EINVALID     = "invalid"     // the request or input is wrong; retrying it unchanged will fail again
	ENOTFOUND    = "not_found"   // the named thing does not exist
	ECONFLICT    = "conflict"    // the thing exists but its state forbids the request, e.g. a server held by a job
	EINTERNAL    = "internal"    // a bug or an unexpected failure; details belong in the log, not to the user
	EUNAVAILABLE = "unavailable" // a dependency is down or throttling; the same request may succeed later
)

// Error is a ripcord error that an operator can act on. Code is for programs,
// Message says what went wrong, and Hint, when set, says what to do about it,
// for example "server s-1 is held by job j-2 (TERMINATE) since 12:01; it will
// be retried until 12:11".
//
// Errors that are not an *Error (a failed disk, a bug) are reported as
// EINTERNAL by [ErrorCode].
type Error struct {
	Code    string // one of the E* constants
	Message string // what went wrong, for a person
	Hint    string // what to do about it; may be empty
}

// Error returns the message. The hint is not part of it: it is read with
// [ErrorHint] and shown where a person will see it.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil
// error, and EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorHint returns the hint of the first *Error in err's chain, or "" if
// there is none.
func ErrorHint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}
