package domain

import (
	"errors"
	"fmt"
)

// ErrConflict reports that an append's expected version did not match the
// stream (someone else appended first). Callers reload and decide again.
var ErrConflict = errors.New("version conflict: the stream changed since it was read")

// ErrNotFound reports that an aggregate, stream or read-model row is absent.
var ErrNotFound = errors.New("not found")

// Violation is a domain rule that a command broke: the command was well
// formed but the state of the network (at the command's business date) does
// not allow it. Code is stable and machine readable (e.g. "card_expired");
// the HTTP layer answers 422 with it. Two Violations match with errors.Is
// when their codes are equal, so packages declare sentinels such as
//
//	var ErrExpired = &domain.Violation{Code: "card_expired", Message: "the card has expired"}
//
// and return them directly or with detail through Violationf.
type Violation struct {
	Code    string
	Field   string // the input field the rule judged, when one
	Message string
}

func (v *Violation) Error() string { return v.Message }

// Is makes errors.Is compare Violations by code.
func (v *Violation) Is(target error) bool {
	t, ok := target.(*Violation)
	return ok && t.Code == v.Code
}

// Violationf returns a Violation with code and a formatted message.
func Violationf(code, format string, args ...any) *Violation {
	return &Violation{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports malformed input: a missing field, a value out of range, a
// field that must never be sent (a cardholder's name). The HTTP layer
// answers 400 with Code. Field names the offending input field, if one.
type Invalid struct {
	Code    string
	Field   string
	Message string
}

func (e *Invalid) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is makes errors.Is compare Invalids by code.
func (e *Invalid) Is(target error) bool {
	t, ok := target.(*Invalid)
	return ok && t.Code == e.Code
}

// Invalidf returns an Invalid for field with a formatted message.
func Invalidf(code, field, format string, args ...any) *Invalid {
	return &Invalid{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports that the principal may not do or see this.
type Forbidden struct{ Message string }

func (e *Forbidden) Error() string { return e.Message }

// CodeOf returns the machine-readable code of a Violation or Invalid in
// err's chain, or "" when there is none.
func CodeOf(err error) string {
	var v *Violation
	if errors.As(err, &v) {
		return v.Code
	}
	var in *Invalid
	if errors.As(err, &in) {
		return in.Code
	}
	return ""
}
