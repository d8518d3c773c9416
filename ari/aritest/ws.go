package aritest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// missingAppPage is Asterisk's answer to an event websocket without ?app=.
const missingAppPage = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>400 Bad Request</title>\r\n</head><body>\r\n<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n<address>" + serverHeader + "</address>\r\n</body></html>\r\n"

// wsConn is one event websocket. Events are queued without blocking the
// emitter and written by the connection's own goroutine, in order.
type wsConn struct {
	ws           *websocket.Conn
	apps         []string
	subscribeAll bool

	mu    sync.Mutex
	queue [][]byte
	wake  chan struct{}

	done     chan struct{}
	dropOnce sync.Once
	finished chan struct{} // closed once the connection is unregistered
}

func (c *wsConn) send(frame []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// drop cuts the connection: queued events are lost, the peer sees its
// socket fail.
func (c *wsConn) drop() {
	c.dropOnce.Do(func() {
		close(c.done)
		_ = c.ws.SetDeadline(time.Now()) // unblocks the reader and writer; failure means it is already closed
	})
}

// serveEvents checks credentials and ?app= before upgrading, as Asterisk
// does: golang.org/x/net/websocket would upgrade first.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var apps []string
	for _, v := range q["app"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				apps = append(apps, name)
			}
		}
	}
	if len(apps) == 0 {
		writeRaw(w, http.StatusBadRequest, "text/html", []byte(missingAppPage))
		return
	}
	subscribeAll := q.Get("subscribeAll") == "true"
	websocket.Server{Handler: func(ws *websocket.Conn) {
		s.runConn(&wsConn{
			ws:           ws,
			apps:         apps,
			subscribeAll: subscribeAll,
			wake:         make(chan struct{}, 1),
			done:         make(chan struct{}),
			finished:     make(chan struct{}),
		})
	}}.ServeHTTP(w, r)
}

func (s *Server) runConn(c *wsConn) {
	defer close(c.finished)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	for _, name := range c.apps {
		a := s.appNamed(name)
		if old := a.conn; old != nil {
			// The old socket stays open but deaf, as on Asterisk.
			s.emit(event{typ: "ApplicationReplaced"}, []*app{a})
		}
		a.conn = c
		a.subscribeAll = c.subscribeAll
	}
	s.connsChanged()
	s.mu.Unlock()
	s.log.Debug("event websocket connected", "apps", c.apps)

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		var frame []byte
		for websocket.Message.Receive(c.ws, &frame) == nil {
			// Asterisk ignores what clients send on the event socket.
		}
	}()
	c.writeLoop(readDone)
	c.drop()
	<-readDone

	s.mu.Lock()
	delete(s.conns, c)
	for _, name := range c.apps {
		if a := s.apps[name]; a != nil && a.conn == c {
			a.conn = nil
			a.subscribeAll = false
		}
	}
	s.connsChanged()
	s.mu.Unlock()
	s.log.Debug("event websocket closed", "apps", c.apps)
}

func (c *wsConn) writeLoop(readDone <-chan struct{}) {
	for {
		select {
		case <-c.done:
			return
		case <-readDone:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, frame := range batch {
			if err := websocket.Message.Send(c.ws, string(frame)); err != nil {
				return
			}
		}
	}
}

// connsChanged wakes WaitRegistered. Callers hold s.mu.
func (s *Server) connsChanged() {
	close(s.connsMoved)
	s.connsMoved = make(chan struct{})
}

// Registered reports whether a websocket is connected for app.
func (s *Server) Registered(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[app]
	return a != nil && a.conn != nil
}

// WaitRegistered waits until a websocket is connected for app: after
// connecting a client, or after a fault made it reconnect.
func (s *Server) WaitRegistered(ctx context.Context, app string) error {
	for {
		s.mu.Lock()
		a := s.apps[app]
		if a != nil && a.conn != nil {
			s.mu.Unlock()
			return nil
		}
		moved := s.connsMoved
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("aritest: wait for %q to connect: %w", app, ctx.Err())
		case <-moved:
		}
	}
}
