package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// Pos is a position in a plan file. Line and Column count from 1; a zero
// Line means the position is unknown (a plan built in code, not read from a
// file).
type Pos struct {
	File   string
	Line   int
	Column int
}

// String returns "file:line:column", or as much of it as is known.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Column)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is one problem in a plan file: where it is, what is wrong, and how
// to fix it.
type Error struct {
	Pos     Pos
	Message string // what is wrong, e.g. `unknown key "grups" in step "app"`
	Hint    string // how to fix it, e.g. `did you mean "groups"?`; may be empty
}

// Error returns the error on one line: "file:line:column: message; hint".
func (e *Error) Error() string {
	s := e.Message
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	if p := e.Pos.String(); p != "" {
		s = p + ": " + s
	}
	return s
}

// As lets [errors.As] see a plan error as a *ripcord.Error with code
// EINVALID, so that [ripcord.ErrorCode] classifies it like any other
// invalid input.
func (e *Error) As(target any) bool {
	t, ok := target.(**ripcord.Error)
	if ok {
		msg := e.Message
		if p := e.Pos.String(); p != "" {
			msg = p + ": " + msg
		}
		*t = &ripcord.Error{Code: ripcord.EINVALID, Message: msg, Hint: e.Hint}
	}
	return ok
}

// ErrorList is every problem found in a plan file, sorted by position. The
// decoder returns one, never an empty one.
type ErrorList []*Error

// Error returns the errors one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, for [errors.Is] and [errors.As].
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort orders the list by position, then by message, and drops exact
// duplicates.
func (l ErrorList) sort() ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(a.Hint, b.Hint),
		)
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

// err returns the list as an error: nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l.sort()
}
