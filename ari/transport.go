package ari

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/CyCoreSystems/ari/v5/client/native"
)

// maxConnsPerHost keeps us below Asterisk's limit of 100 HTTP sessions
// (http.conf sessionlimit): past it Asterisk answers "HTTP session count
// exceeded" and stops serving. Requests beyond it wait for a free connection.
// The pool opens no more than it keeps idle (Config.MaxIdleConns) either:
// a connection opened past the idle pool is closed after its one request,
// so under bursts every request past the pool opened a new connection
// (18–55 new connections per 1,000 requests at 50 calls/s on a loaded
// machine, against ≤ 1 wanted).
const maxConnsPerHost = 90

// drainLimit is how much of an unread response body is read on Close so the
// connection can go back to the pool; larger leftovers are not worth it.
const drainLimit = 256 << 10

// newHTTPClient builds the client every ARI REST request goes through. The
// library's zero-value client keeps 2 idle connections and leaves some bodies
// unread, so under load it opens a new connection per request until Asterisk
// refuses them.
func newHTTPClient(cfg Config, m *metrics) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				m.httpConnsOpened.Inc()
			}
			return conn, err
		},
		MaxIdleConns:          cfg.MaxIdleConns,
		MaxIdleConnsPerHost:   cfg.MaxIdleConns,
		MaxConnsPerHost:       min(cfg.MaxIdleConns, maxConnsPerHost),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		DisableCompression:    true,
	}
	return &http.Client{Transport: &drainingTransport{next: tr, m: m}, Timeout: cfg.RequestTimeout}
}

// drainingTransport reads what is left of every response body before closing
// it, and measures requests.
type drainingTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t *drainingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.m.httpDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		t.m.httpRequests.WithLabelValues(req.Method, "error").Inc()
		return nil, err
	}
	t.m.httpRequests.WithLabelValues(req.Method, strconv.Itoa(resp.StatusCode)).Inc()
	resp.Body = drainOnClose{resp.Body}
	return resp, nil
}

type drainOnClose struct{ io.ReadCloser }

func (d drainOnClose) Close() error {
	_, _ = io.CopyN(io.Discard, d.ReadCloser, drainLimit)
	return d.ReadCloser.Close()
}

// newNativeClient returns the library's client for REST calls only: we own
// the websocket (see Client), so its Connect, bus and listener are never used.
// The library offers no way to set its HTTP client, so it is set through
// reflection; a library upgrade that changes the field fails here loudly.
func newNativeClient(cfg Config, hc *http.Client) (*native.Client, error) {
	nc := native.New(&native.Options{
		Application:  cfg.Application,
		URL:          cfg.URL,
		WebsocketURL: cfg.WebsocketURL,
		Username:     cfg.Username,
		Password:     cfg.Password,
	})
	field := reflect.ValueOf(nc).Elem().FieldByName("httpClient")
	if !field.IsValid() || field.Type() != reflect.TypeOf(http.Client{}) {
		return nil, errors.New("ari: native.Client has no httpClient field of type http.Client; the ari/v5 version changed")
	}
	reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Set(reflect.ValueOf(*hc))
	return nc, nil
}

// statusError is a non-2xx answer to our own requests (not the library's).
type statusError struct {
	Status int
	Body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// httpStatus digs the HTTP status out of an error from the native client,
// which wraps it in several layers (eris, Cause() chains); 0 when none.
func httpStatus(err error) int {
	for err != nil {
		var se *statusError
		if errors.As(err, &se) {
			return se.Status
		}
		var re native.RequestError
		if errors.As(err, &re) {
			return re.Code()
		}
		if c, ok := err.(interface{ Cause() error }); ok && c.Cause() != err {
			err = c.Cause()
			continue
		}
		err = errors.Unwrap(err)
	}
	return 0
}
