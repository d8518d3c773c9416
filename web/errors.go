package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"hotline"
)

// statusByKind is the one table from error kinds to HTTP statuses.
var statusByKind = map[hotline.ErrorKind]int{
	hotline.KindInvalid:      http.StatusBadRequest,
	hotline.KindNotFound:     http.StatusNotFound,
	hotline.KindConflict:     http.StatusConflict,
	hotline.KindUnauthorized: http.StatusUnauthorized,
	hotline.KindForbidden:    http.StatusForbidden,
	hotline.KindUnavailable:  http.StatusServiceUnavailable,
	hotline.KindRateLimited:  http.StatusTooManyRequests,
	hotline.KindInternal:     http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err. A request body over the size
// limit is the one case the kind alone does not decide: it is invalid input,
// answered 413 so the client knows that shortening it is the fix.
func StatusOf(err error) int {
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	if s, ok := statusByKind[hotline.KindOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error     string `json:"error"`
	Kind      string `json:"kind"`
	Retryable bool   `json:"retryable"`
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusOf(err)
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if note, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		note.err = err
	}
	if wait := hotline.RetryAfterOf(err); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	writeJSON(w, status, errorBody{Error: hotline.MessageOf(err), Kind: string(hotline.KindOf(err)), Retryable: hotline.IsRetryable(err)})
}

// notConfigured is the error of a route whose dependency was not given to
// New: 503, and not retryable, since only a restart with it can help.
func notConfigured(what string) error {
	return &hotline.Error{Kind: hotline.KindUnavailable, Op: "web",
		Message: what + " is not available: the server was started without it"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
