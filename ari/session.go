package ari

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// session is the event plumbing of one conversation the service drives (an
// inbound call, a callback attempt): its mailbox, waiting for one event
// while holding the others in order, and playing prompts. It belongs to
// one goroutine.
type session struct {
	cli     *Client
	mb      *Mailbox
	idBase  string // playback ids are idBase-pN
	playSeq int
	held    []ari.Event // events that arrived while waiting for another
	// upcoming is the rest of the batch of events being handled.
	upcoming []ari.Event
	// isGone recognises the event that ends the conversation (the citizen
	// hanging up); once seen, gone is true and waits return at once.
	isGone func(ari.Event) bool
	gone   bool
}

// await waits for an event that match accepts, for at most d. Other events
// are held, in order, for the caller's main loop; the conversation ending
// ends the wait. It returns the matched event, or nil.
func (s *session) await(ctx context.Context, d time.Duration, match func(ari.Event) bool) ari.Event {
	if s.gone {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			return nil
		case <-s.mb.Ready():
			events := s.mb.Take()
			for i, e := range events {
				if s.isGone != nil && s.isGone(e) {
					s.gone = true
					s.held = append(s.held, events[i:]...) // the main loop still sees the hangup
					return nil
				}
				if match(e) {
					s.held = append(s.held, events[i+1:]...)
					return e
				}
				s.held = append(s.held, e)
			}
		}
	}
}

// leftStasis reports whether channel id's leaving Stasis (its StasisEnd
// or ChannelDestroyed) has arrived and waits to be handled: in the rest of
// the batch being handled, among the held events or in the mailbox. A
// request naming the channel would only be refused (a bridge's addChannel
// answers 400 "Channel not found", the channel's own resources 404), so
// none is made. Behind on its events (under overload), a conversation
// finds most such leaves here; the rest happen between the check and
// Asterisk's handling of the request (see channelGone).
func (s *session) leftStasis(id string) bool {
	left := leavesStasis(id)
	return slices.ContainsFunc(s.upcoming, left) || slices.ContainsFunc(s.held, left) || s.mb.Any(left)
}

// leavesStasis recognises channel id's StasisEnd or ChannelDestroyed.
func leavesStasis(id string) func(ari.Event) bool {
	return func(e ari.Event) bool {
		switch ev := e.(type) {
		case *ari.StasisEnd:
			return ev.Channel.ID == id
		case *ari.ChannelDestroyed:
			return ev.Channel.ID == id
		}
		return false
	}
}

// takeHeld returns the held events and forgets them.
func (s *session) takeHeld() []ari.Event {
	h := s.held
	s.held = nil
	return h
}

// startPlayback starts prompt on a channel or bridge and returns the
// playback id, "" on failure (with the error).
func (s *session) startPlayback(kind, id string, prompt Prompt) (string, error) {
	s.playSeq++
	pbID := s.idBase + "-p" + strconv.Itoa(s.playSeq)
	s.cli.Dispatcher().Route(ari.PlaybackKey, pbID, s.mb)
	var err error
	if kind == ari.BridgeKey {
		_, err = s.cli.ARI().Bridge().Play(key(kind, id), pbID, prompt.Sound)
	} else {
		_, err = s.cli.ARI().Channel().Play(key(kind, id), pbID, prompt.Sound)
	}
	if err != nil {
		s.cli.Dispatcher().Unroute(ari.PlaybackKey, pbID)
		return "", err
	}
	return pbID, nil
}

// play plays prompt and waits until it finishes, timeout passes or the
// conversation ends. It reports whether the prompt finished.
func (s *session) play(ctx context.Context, kind, id string, prompt Prompt, timeout time.Duration) (bool, error) {
	pbID, err := s.startPlayback(kind, id, prompt)
	if err != nil {
		return false, err
	}
	defer s.cli.Dispatcher().Unroute(ari.PlaybackKey, pbID)
	e := s.await(ctx, timeout, func(e ari.Event) bool {
		f, ok := e.(*ari.PlaybackFinished)
		return ok && f.Playback.ID == pbID
	})
	return e != nil, nil
}
