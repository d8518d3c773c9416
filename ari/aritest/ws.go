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

// wsConn is one event websocket. It is registered for its applications
// before the upgrade's 101 goes out, and unregistered before the socket
// closes. Events are queued without blocking the emitter and written by
// the connection's own goroutine, in order, once the upgrade is done.
type wsConn struct {
	apps         []string
	subscribeAll bool
	registered   bool          // guarded by Server.mu
	load         *loadCounters // counts the events written and lost

	mu    sync.Mutex
	ws    *websocket.Conn // nil until the upgrade is done
	queue [][]byte
	wake  chan struct{}

	done     chan struct{}
	dropOnce sync.Once
	finished chan struct{} // closed once the connection is unregistered and closed
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
// socket fail. A connection dropped before its upgrade is done is cut as
// soon as it is.
func (c *wsConn) drop() {
	c.dropOnce.Do(func() {
		c.mu.Lock()
		close(c.done)
		ws := c.ws
		c.mu.Unlock()
		if ws != nil {
			_ = ws.SetDeadline(time.Now()) // unblocks the reader and writer; failure means it is already closed
		}
	})
}

// attach hands the connection its upgraded websocket.
func (c *wsConn) attach(ws *websocket.Conn) {
	c.mu.Lock()
	c.ws = ws
	dropped := isClosed(c.done)
	c.mu.Unlock()
	if dropped {
		_ = ws.SetDeadline(time.Now()) // as drop would have; failure means it is already closed
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// serveEvents checks credentials and ?app= before upgrading, as Asterisk
// does: golang.org/x/net/websocket would upgrade first. The applications
// are registered in the handshake, before the 101 is written, so that a
// client whose handshake has returned gets every event from then on, as
// with Asterisk.
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
	c := &wsConn{
		apps:         apps,
		subscribeAll: q.Get("subscribeAll") == "true",
		load:         &s.load,
		wake:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		finished:     make(chan struct{}),
	}
	defer close(c.finished)
	websocket.Server{
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			if len(cfg.Protocol) > 1 {
				// The library answers 400 for several subprotocols with
				// none chosen: there will be no connection to register.
				return nil
			}
			return s.register(c)
		},
		Handler: func(ws *websocket.Conn) {
			c.attach(ws)
			s.runConn(c)
		},
	}.ServeHTTP(w, r)
	// The upgrade may fail after the handshake registered c (the 101 could
	// not be written): then runConn never ran to unregister it.
	s.unregister(c)
}

// register makes c the websocket of its applications, telling a socket
// it replaces. It runs in the handshake, before the 101 is written.
func (s *Server) register(c *wsConn) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed // the library answers 403
	}
	s.conns[c] = struct{}{}
	c.registered = true
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
	return nil
}

// unregister detaches c from the applications it still serves; calling it
// again does nothing.
func (s *Server) unregister(c *wsConn) {
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	c.registered = false
	delete(s.conns, c)
	for _, name := range c.apps {
		if a := s.apps[name]; a != nil && a.conn == c {
			a.conn = nil
			a.subscribeAll = false
		}
	}
	// Nothing is queued for c any more: what is left was never written.
	c.mu.Lock()
	c.load.eventsLost.Add(uint64(len(c.queue)))
	c.queue = nil
	c.mu.Unlock()
	s.connsChanged()
	s.mu.Unlock()
	s.log.Debug("event websocket closed", "apps", c.apps)
}

// runConn writes c's events until it is dropped or the peer goes away,
// then unregisters it while the socket is still open, so that a client
// that reconnects at once never finds the old one registered.
func (s *Server) runConn(c *wsConn) {
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
	s.unregister(c)
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
		for i, frame := range batch {
			if err := websocket.Message.Send(c.ws, string(frame)); err != nil {
				c.load.eventsLost.Add(uint64(len(batch) - i))
				return
			}
			c.load.eventsSent.Add(1)
		}
	}
}

// connsChanged wakes WaitRegistered. Callers hold s.mu.
func (s *Server) connsChanged() {
	close(s.connsMoved)
	s.connsMoved = make(chan struct{})
}

// Registered reports whether a websocket is connected for app. An
// application is registered before its websocket's upgrade completes, so
// this holds as soon as a client's handshake has returned.
func (s *Server) Registered(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[app]
	return a != nil && a.conn != nil
}

// WaitRegistered waits until a websocket is connected for app: after
// starting a client that connects in the background, or after a fault
// made it reconnect. Once the client's handshake has returned it returns
// at once.
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
