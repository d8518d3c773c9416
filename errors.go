package hotline

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies an error for callers: the HTTP layer maps each kind to
// one status, and retry loops ask whether trying again can help.
type ErrorKind string

// Error kinds. Keep in step with the status table in package web.
const (
	KindInvalid      ErrorKind = "invalid"      // bad input; retrying the same request cannot help
	KindNotFound     ErrorKind = "not_found"    // the thing does not exist
	KindConflict     ErrorKind = "conflict"     // state forbids it now (already claimed, already exists)
	KindUnauthorized ErrorKind = "unauthorized" // no or wrong credentials
	KindForbidden    ErrorKind = "forbidden"    // credentials fine, not allowed
	KindUnavailable  ErrorKind = "unavailable"  // a dependency is down or slow; retry later
	KindRateLimited  ErrorKind = "rate_limited" // too many attempts; retry after Error.RetryAfter
	KindInternal     ErrorKind = "internal"     // a bug or an unexpected failure
)

// Error is the domain error: a kind, the operation that failed, a message for
// people, whether a retry can help, and the cause.
type Error struct {
	Kind      ErrorKind
	Op        string // e.g. "store.CreateCall"
	Message   string // safe to show to API users
	Retryable bool
	// RetryAfter, when set, is how long to wait before trying again
	// (KindRateLimited); the HTTP layer sends it as Retry-After.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	if e.Err != nil {
		if e.Message == "" {
			return e.Op + ": " + e.Err.Error()
		}
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of kind for op. Unavailable and rate-limited
// errors are retryable.
func Errorf(kind ErrorKind, op, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Message: fmt.Sprintf(format, args...), Retryable: kind == KindUnavailable || kind == KindRateLimited}
}

// RateLimited is a KindRateLimited error asking to wait retryAfter.
func RateLimited(op string, retryAfter time.Duration, format string, args ...any) *Error {
	e := Errorf(KindRateLimited, op, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// RetryAfterOf returns the wait the first *Error in err's chain asks for.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// WrapError wraps err as kind for op, keeping it reachable through errors.Is/As.
func WrapError(kind ErrorKind, op string, err error) *Error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Op: op, Err: err, Retryable: kind == KindUnavailable}
}

// KindOf returns the kind of the first *Error in err's chain, KindInternal
// for any other non-nil error, and "" for nil.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != "" {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the message meant for API users: the first *Error's
// message, or a generic text that leaks no internals.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		if e.Kind != KindInternal && e.Err != nil {
			return e.Err.Error()
		}
	}
	return "internal error"
}

// IsRetryable reports whether trying the same operation again may succeed.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return false
}
