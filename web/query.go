package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"hotline"
)

// Lists answer defaultListLimit items unless the query asks for another
// limit, from 1 to maxListLimit.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// checkQuery refuses a query string with a parameter not in allowed, or
// with one given more than once: a misspelt filter would otherwise be
// ignored and the list look complete.
func checkQuery(op string, q url.Values, allowed ...string) error {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // the same request gets the same message
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return hotline.Errorf(hotline.KindInvalid, op, "unknown query parameter %q; the parameters are %s", name, strings.Join(allowed, ", "))
		}
		if n := len(q[name]); n > 1 {
			return hotline.Errorf(hotline.KindInvalid, op, "query parameter %q is given %d times; give it once", name, n)
		}
	}
	return nil
}

// queryLimit reads the limit parameter: defaultListLimit when absent.
func queryLimit(op string, q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, hotline.Errorf(hotline.KindInvalid, op, "limit %q must be a number from 1 to %d", v, maxListLimit)
	}
	return n, nil
}

// queryOffset reads the offset parameter: 0 when absent.
func queryOffset(op string, q url.Values) (int, error) {
	v := q.Get("offset")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, hotline.Errorf(hotline.KindInvalid, op, "offset %q must be a whole number, 0 or more", v)
	}
	return n, nil
}

// queryFlag reads a true/false parameter: false when absent.
func queryFlag(op string, q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, hotline.Errorf(hotline.KindInvalid, op, "%s %q must be true or false", name, v)
	}
}

// pathID reads the {id} of the route as a positive whole number; what names
// the thing for the message, e.g. "callback task".
func pathID(op string, r *http.Request, what string) (int64, error) {
	v := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, hotline.Errorf(hotline.KindInvalid, op, "%s id %q must be a positive whole number", what, v)
	}
	return id, nil
}
