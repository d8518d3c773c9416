package aritest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// stasisWaiter hands each StasisStart read from a raw event websocket to
// whoever waits for that channel.
type stasisWaiter struct {
	mu      sync.Mutex
	started map[string]chan struct{}
}

func (w *stasisWaiter) ch(id string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, found := w.started[id]
	if !found {
		c = make(chan struct{}, 1)
		w.started[id] = c
	}
	return c
}

func (w *stasisWaiter) wait(ctx context.Context, id string) error {
	select {
	case <-w.ch(id):
		w.mu.Lock()
		delete(w.started, id)
		w.mu.Unlock()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no StasisStart for %s: %w", id, ctx.Err())
	}
}

// BenchmarkHotlineCall runs whole hotline calls through the fake over HTTP
// and the event websocket: citizen in, answer, bridge, agent originated
// and answering, bridged, both hung up, bridge destroyed (8 requests,
// ~30 events). It reports calls/s at 64 calls in flight.
func BenchmarkHotlineCall(b *testing.B) {
	srv := NewTest(b, Options{})
	srv.SetEndpoint("PJSIP/1001", Behavior{})
	ws := dialEvents(b, srv, "hotline")
	waiter := &stasisWaiter{started: map[string]chan struct{}{}}
	go func() {
		for {
			var frame []byte
			if websocket.Message.Receive(ws, &frame) != nil {
				return
			}
			var e struct {
				Type    string `json:"type"`
				Channel struct {
					ID string `json:"id"`
				} `json:"channel"`
			}
			if json.Unmarshal(frame, &e) == nil && e.Type == "StasisStart" {
				waiter.ch(e.Channel.ID) <- struct{}{}
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	do := func(method, path, body string) error {
		req, err := http.NewRequestWithContext(ctx, method, srv.ARIURL()+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.SetBasicAuth("hotline", "hotline")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil
	}
	call := func() error {
		id, err := srv.PlaceCall(InboundCall{Caller: "13800138000"})
		if err != nil {
			return err
		}
		if err := waiter.wait(ctx, id); err != nil {
			return err
		}
		agent, bridge := id+"-a", id+"-b"
		steps := []func() error{
			func() error { return do("POST", "/channels/"+id+"/answer", "") },
			func() error { return do("POST", "/bridges/"+bridge, `{"type":"mixing"}`) },
			func() error { return do("POST", "/bridges/"+bridge+"/addChannel", `{"channel":"`+id+`"}`) },
			func() error {
				return do("POST", "/channels", `{"endpoint":"PJSIP/1001","app":"hotline","channelId":"`+agent+`","originator":"`+id+`"}`)
			},
			func() error { return waiter.wait(ctx, agent) },
			func() error { return do("POST", "/bridges/"+bridge+"/addChannel", `{"channel":"`+agent+`"}`) },
			func() error { return do("DELETE", "/channels/"+agent+"?reason=normal", "") },
			func() error { return do("DELETE", "/channels/"+id+"?reason=normal", "") },
			func() error { return do("DELETE", "/bridges/"+bridge, "") },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}

	b.SetParallelism(32) // 64 calls in flight on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	require.Empty(b, srv.Channels())
}
