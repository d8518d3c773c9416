package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"hotline"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 64 << 10

// decodeJSON reads r's body, one JSON object of at most maxBodyBytes, into v,
// rejecting fields v does not have. An empty body counts as {}, so that the
// handler's own checks name the missing fields. The Content-Type is not
// checked up front: a missing or non-JSON one is accepted when the body
// parses, and named in the error when it does not. Every error is
// KindInvalid with a message that names the problem, prefixed "body: "; one
// over the size limit wraps *http.MaxBytesError, which StatusOf answers 413.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	const op = "web.decodeJSON"
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err == nil {
		// One object only: anything but white space after it is an error.
		if extra := dec.Decode(&json.RawMessage{}); !errors.Is(extra, io.EOF) {
			err = errTrailing
			if tooLarge := (*http.MaxBytesError)(nil); errors.As(extra, &tooLarge) {
				err = extra
			}
		}
	}
	if err == nil {
		return nil
	}
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return &hotline.Error{Kind: hotline.KindInvalid, Op: op, Err: err,
			Message: fmt.Sprintf("body: larger than the limit of %d KiB", maxBodyBytes>>10)}
	}
	msg := "body: " + describeJSONError(err)
	if hint := contentTypeHint(r.Header.Get("Content-Type")); hint != "" {
		msg += " (" + hint + ")"
	}
	return &hotline.Error{Kind: hotline.KindInvalid, Op: op, Message: msg, Err: err}
}

var errTrailing = errors.New("unexpected data after the JSON object")

// describeJSONError turns a decoding error into words for API users.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: it ends too early"
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("expected a JSON object, got %s", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a %s, got %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, errTrailing):
		return err.Error()
	}
	// Unknown fields come as a plain error: `json: unknown field "x"`.
	msg := strings.TrimPrefix(err.Error(), "json: ")
	for _, name := range removedIdentityFields {
		if msg == fmt.Sprintf("unknown field %q", name) {
			return fmt.Sprintf("field %q is no longer accepted: the actor is the logged-in user", name)
		}
	}
	return msg
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(kind string) string {
	switch {
	case kind == "string":
		return "string"
	case kind == "bool":
		return "boolean"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "whole number"
	case strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice", kind == "array":
		return "array"
	}
	return "object"
}

// contentTypeHint explains a failed parse when the client did not say JSON.
func contentTypeHint(ct string) string {
	if ct == "" {
		return "no Content-Type given; send application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return ""
	}
	return fmt.Sprintf("Content-Type is %q; send application/json", ct)
}
