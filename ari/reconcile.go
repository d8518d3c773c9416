package ari

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"hotline"
)

// Reconciliation compares what the store says is going on with what
// Asterisk has, after every (re)connection and before new calls are taken
// (Calls.hold): Asterisk keeps a dead application's channels, bridges and
// recordings (trace 14), and events sent while no websocket was connected
// are lost.
//
//   - A call this process runs whose channel vanished meanwhile hears of it
//     as a hangup.
//   - A call another process ran (it died) whose citizen is still on the
//     line is adopted: it goes on from its stored phase, its agent stays
//     responsible, its recording goes on or is archived.
//   - Such a call whose citizen is gone is closed as interrupted, at the
//     last time it was known alive; unanswered, it is missed (reason
//     interrupted) and owed a callback like any other; answered, it is
//     completed with interrupted_at set.
//   - A call whose end was stored but not finished (phase ending) gets the
//     remaining steps of its end.
//   - Empty bridges and snoop channels nothing in this process owns are
//     destroyed; stored recordings the archive never heard of are archived.
//   - Monitorings of this server's calls that this process does not run
//     (a dead process's: they are not adopted) are ended, their channels
//     hung up and their bridges removed.
//
// Every repair is idempotent, counted by hotline_reconcile_repaired_total
// and logged with the counts.

// Repairs, the label values of hotline_reconcile_repaired_total.
const (
	repairVanished  = "vanished"           // a call here heard that a channel of it was gone
	repairAdopted   = "adopted"            // a live call of a dead process taken over
	repairClosed    = "interrupted"        // a call of a dead process closed as interrupted
	repairEnded     = "end_resumed"        // a stored end finished
	repairBridge    = "bridge_destroyed"   // an empty bridge nobody owns
	repairSnoop     = "snoop_hungup"       // a snoop channel nobody owns
	repairRecording = "recording_archived" // a stored recording the archive did not know
	repairArrival   = "arrival_recovered"  // a citizen in Stasis whose StasisStart was lost
	// A monitoring a stopped or dead process left: its row ended, its
	// channels hung up, its bridge removed.
	repairMonitor        = "monitor_ended"
	repairMonitorChannel = "monitor_channel_hungup"
	repairMonitorBridge  = "monitor_bridge_destroyed"
)

// causeVanished marks the ChannelDestroyed reconciliation makes up for a
// channel that vanished while nobody listened: a citizen's ends the call
// as interrupted, not abandoned, since nobody saw how it ended.
const causeVanished = "vanished while ARI was disconnected"

// Summary is what one reconciliation found and repaired, by repair.
type Summary map[string]int

// ariChannel and ariBridge are the fields of GET /channels and GET
// /bridges reconciliation reads.
type ariChannel struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Caller struct {
		Name   string `json:"name"`
		Number string `json:"number"`
	} `json:"caller"`
	Dialplan struct {
		Context string `json:"context"`
		Exten   string `json:"exten"`
		AppName string `json:"app_name"`
		AppData string `json:"app_data"`
	} `json:"dialplan"`
}

type ariBridge struct {
	ID       string   `json:"id"`
	Channels []string `json:"channels"`
}

// snoopID matches the ids of the snoop channels calls make (call.nextID).
var snoopID = regexp.MustCompile(`^[0-9a-z]+-s[0-9]{3}$`)

// hold stops new calls from being taken until the next reconciliation has
// run; the client calls it on every connection before any event.
func (s *Calls) hold() {
	s.holdMu.Lock()
	s.holding++
	s.holdMu.Unlock()
}

// release lets calls in again and hands the events held meanwhile back to
// the dispatcher: those about adopted calls now reach them.
func (s *Calls) release() {
	s.holdMu.Lock()
	s.holding--
	var held []ari.Event
	if s.holding == 0 {
		held, s.held = s.held, nil
	}
	s.holdMu.Unlock()
	for _, e := range held {
		s.cli.Dispatcher().Dispatch(e)
	}
}

// holdEvents keeps events back while a reconciliation runs; it reports
// whether it did.
func (s *Calls) holdEvents(events []ari.Event) bool {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.holding == 0 {
		return false
	}
	s.held = append(s.held, events...)
	return true
}

// reconcileOnConnect runs after every connection; hold was called first.
//
// It runs to its end even when the connection drops meanwhile (then the
// next one reconciles again): under frequent drops, a reconciliation cut
// short each time would never recover anything.
func (s *Calls) reconcileOnConnect(ctx context.Context) {
	defer s.release()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := s.Reconcile(ctx); err != nil {
		s.log.Error("reconciliation with Asterisk failed; it runs again on the next connection", "err", err)
	}
}

// Reconcile compares the store with Asterisk and repairs what differs
// (see above). It returns what it repaired; an error means Asterisk or the
// store could not be read, and what was done is kept.
func (s *Calls) Reconcile(ctx context.Context) (Summary, error) {
	s.reconcileMu.Lock() // one at a time: a quick reconnect must not adopt a call twice
	defer s.reconcileMu.Unlock()
	start := time.Now()
	done := Summary{}
	repaired := func(what string) {
		done[what]++
		s.m.repaired.WithLabelValues(what).Inc()
	}
	// The calls and channels this process has, taken before Asterisk's
	// list: what appears later is not missing from it.
	type owned struct {
		c   *call
		ids []string
	}
	var ours []owned
	for _, c := range s.activeCalls() {
		ours = append(ours, owned{c, c.channelIDs()})
	}
	var chans []ariChannel
	if err := s.cli.getJSON(ctx, "/channels", &chans); err != nil {
		return done, err
	}
	alive := make(map[string]ariChannel, len(chans))
	for _, ch := range chans {
		alive[ch.ID] = ch
	}

	// Calls this process runs: a channel gone meanwhile is a hangup.
	for _, o := range ours {
		c := o.c
		for _, id := range o.ids {
			if _, ok := alive[id]; !ok {
				repaired(repairVanished)
				c.mb.Put(&ari.ChannelDestroyed{EventData: ari.EventData{Type: ari.Events.ChannelDestroyed},
					Channel: ari.ChannelData{ID: id}, CauseTxt: causeVanished})
			}
		}
	}

	// Calls of a process that died.
	stored, err := s.store.UnfinishedCalls(ctx)
	if err != nil {
		return done, err
	}
	for _, rec := range stored {
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		if s.isActive(rec.ID) || !s.owns(rec.ID) {
			continue // running here, or another Asterisk server's
		}
		// A call of this process may have ended since the list was read
		// (it leaves the active calls only once its end is stored).
		again, err := s.store.GetCall(ctx, rec.ID)
		if err != nil || again.Phase == hotline.PhaseEnded {
			continue
		}
		rec = again
		switch _, citizen := alive[rec.ChannelID]; {
		case rec.Phase == hotline.PhaseEnding:
			c := s.restore(ctx, rec, alive)
			c.gone = !citizen
			c.endSteps(ctx)
			repaired(repairEnded)
		case citizen && rec.Phase.Live() || citizen && rec.Phase == "":
			s.adopt(ctx, rec, alive)
			repaired(repairAdopted)
		default:
			s.closeInterrupted(ctx, rec, alive)
			repaired(repairClosed)
		}
	}

	// Citizens who entered Stasis while the websocket was down or being
	// replaced: their StasisStart was lost (Asterisk drops what it could
	// not send), so they wait in silence. They start as new calls.
	disp := s.cli.Dispatcher()
	for _, ch := range chans {
		if ch.Dialplan.AppName != "Stasis" || ch.Dialplan.AppData != s.cli.Application()+",inbound" ||
			disp.Routed(ari.ChannelKey, ch.ID) || s.seenArrival(ch.ID) || s.heldArrival(ch.ID) {
			continue
		}
		s.log.Warn("citizen waiting in Stasis unseen (StasisStart lost); taking the call now", "channel", ch.ID)
		s.inbox.Put(&ari.StasisStart{EventData: ari.EventData{Type: ari.Events.StasisStart}, Args: []string{"inbound"},
			Channel: ari.ChannelData{ID: ch.ID, State: ch.State, Caller: &ari.CallerID{Name: ch.Caller.Name, Number: ch.Caller.Number},
				Dialplan: &ari.DialplanCEP{Context: ch.Dialplan.Context, Exten: ch.Dialplan.Exten}}})
		repaired(repairArrival)
	}

	// Monitorings of a process that died, or whose channels vanished.
	mons := s.monitors.Load()
	if mons != nil {
		if err := mons.reconcile(ctx, chans, repaired); err != nil {
			return done, err
		}
	}

	// What nobody owns any more.
	for _, ch := range chans {
		if snoopID.MatchString(ch.ID) && !disp.Routed(ari.ChannelKey, ch.ID) {
			if err := s.cli.ARI().Channel().Hangup(key(ari.ChannelKey, ch.ID), "normal"); err == nil || httpStatus(err) == 404 {
				repaired(repairSnoop)
			}
		}
	}
	var bridges []ariBridge
	if err := s.cli.getJSON(ctx, "/bridges", &bridges); err != nil {
		return done, err
	}
	for _, b := range bridges {
		if mons != nil && monitorBridgeID.MatchString(b.ID) && !mons.ownsBridge(b.ID) {
			if err := s.cli.ARI().Bridge().Delete(key(ari.BridgeKey, b.ID)); err == nil || httpStatus(err) == 404 {
				repaired(repairMonitorBridge)
			}
			continue
		}
		// Calls and callbacks name their bridges ID-bridge; others are
		// not reconciliation's.
		if len(b.Channels) > 0 || !strings.HasSuffix(b.ID, "-bridge") || disp.Routed(ari.BridgeKey, b.ID) {
			continue
		}
		if err := s.cli.ARI().Bridge().Delete(key(ari.BridgeKey, b.ID)); err == nil || httpStatus(err) == 404 {
			repaired(repairBridge)
		}
	}
	if err := s.archiveUnknownRecordings(ctx, repaired); err != nil {
		return done, err
	}
	if len(done) > 0 {
		args := []any{"took", time.Since(start).Round(time.Millisecond)}
		for what, n := range done {
			args = append(args, what, n)
		}
		s.log.Info("reconciled with Asterisk", args...)
	} else {
		s.log.Debug("reconciled with Asterisk: nothing to repair", "took", time.Since(start).Round(time.Millisecond))
	}
	return done, nil
}

// arrived notes that the citizen's channel id came in as a call, so a
// StasisStart for it that comes again (recovered by reconciliation, then
// delivered after all) starts no second call, and a channel whose call
// ended here is not taken for a lost arrival. Ids are forgotten after a
// day.
func (s *Calls) arrived(id string) (again bool) {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	if _, ok := s.seen[id]; ok {
		return true
	}
	now := time.Now()
	s.seen[id] = now
	if now.Sub(s.seenPruned) > time.Hour {
		for k, at := range s.seen {
			if now.Sub(at) > 24*time.Hour {
				delete(s.seen, k)
			}
		}
		s.seenPruned = now
	}
	return false
}

// heldArrival reports whether a StasisStart for the channel waits among
// the events held during reconciliation: it was not lost.
func (s *Calls) heldArrival(id string) bool {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	for _, e := range s.held {
		if st, ok := e.(*ari.StasisStart); ok && st.Channel.ID == id {
			return true
		}
	}
	return false
}

func (s *Calls) seenArrival(id string) bool {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	_, ok := s.seen[id]
	return ok
}

// archiveUnknownRecordings hands to the archive the stored recordings it
// never heard of, unless they are still being recorded.
func (s *Calls) archiveUnknownRecordings(ctx context.Context, repaired func(string)) error {
	if s.Recordings == nil {
		return nil
	}
	var list []struct {
		Name string `json:"name"`
	}
	if err := s.cli.getJSON(ctx, "/recordings/stored", &list); err != nil {
		return err
	}
	names := make([]string, 0, len(list))
	for _, r := range list {
		names = append(names, r.Name)
	}
	unknown, err := s.store.UnknownRecordings(ctx, names)
	if err != nil {
		return err
	}
	for _, name := range unknown {
		if s.recordingLive(ctx, name) {
			continue
		}
		callID := name
		if i := strings.Index(name, "-"); i > 0 {
			callID = name[:i] // NAME-part2, NAME-vm; the archive keeps it without the call when there is no such call
		}
		if err := s.Recordings.Finished(context.WithoutCancel(ctx), name, callID, s.now()); err != nil {
			s.log.Error("recording not handed to the archive", "recording", name, "err", err)
			continue
		}
		repaired(repairRecording)
	}
	return nil
}

// recordingLive reports whether Asterisk is recording name now.
func (s *Calls) recordingLive(ctx context.Context, name string) bool {
	var live struct {
		State string `json:"state"`
	}
	err := s.cli.getJSON(ctx, "/recordings/live/"+url.PathEscape(name), &live)
	return err == nil && (live.State == "recording" || live.State == "queued" || live.State == "paused")
}

func (s *Calls) activeCalls() []*call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*call, 0, len(s.active))
	for _, c := range s.active {
		out = append(out, c)
	}
	return out
}

func (s *Calls) isActive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[id] != nil
}

// restore rebuilds a stored call's state: its legs (those whose channel
// is gone end now: answered ones completed, the agent to wrap-up; ringing
// ones cancelled), its bridge, its recorder and the numbering of the
// channel ids it makes.
func (s *Calls) restore(ctx context.Context, rec hotline.Call, alive map[string]ariChannel) *call {
	// The citizen's channel is this call's: once it ends here, a later
	// reconciliation that still sees the channel in Stasis (hanging up)
	// must not take it for a lost arrival and make a second call of it.
	s.arrived(rec.ChannelID)
	c := s.newCall(rec)
	c.bridge = rec.BridgeID
	if c.bridge == "" {
		c.bridge = rec.ID + "-bridge"
	}
	for _, l := range rec.Legs {
		lg := &leg{rec: l, saved: l, gone: !l.EndedAt.IsZero()}
		lg.answered = !l.AnsweredAt.IsZero()
		lg.bridged = l.Outcome == hotline.LegAnswered
		c.legs[l.ChannelID] = lg
		c.seq = max(c.seq, idNumber(rec.ID, l.ChannelID))
		if lg.gone {
			continue
		}
		if _, ok := alive[l.ChannelID]; !ok {
			if lg.bridged {
				c.legEnded(lg, hotline.LegCompleted)
				s.startWrapUp(ctx, l.AgentID)
			} else {
				c.legEnded(lg, hotline.LegCancelled)
			}
			c.saveLeg(ctx, lg, false)
		}
	}
	c.flush(ctx)
	c.seq = max(c.seq, idNumber(rec.ID, rec.SnoopID))
	if rec.RecordingName != "" {
		r := &recorder{cli: s.cli, mb: c.mb, target: c.citizen, name: rec.ID, newID: c.nextID, parts: rec.RecordingParts}
		if len(r.parts) == 0 {
			r.parts = []string{rec.RecordingName}
		}
		if _, ok := alive[rec.SnoopID]; ok {
			r.snoop = rec.SnoopID
		}
		if last := r.parts[len(r.parts)-1]; s.recordingLive(ctx, last) {
			r.live = last
		}
		c.recorder = r
	}
	return c
}

// idNumber is the number in a channel id the call made (call.nextID), 0
// when id is not one.
func idNumber(callID, id string) int {
	rest, ok := strings.CutPrefix(id, callID+"-")
	if !ok || len(rest) < 4 {
		return 0
	}
	n, err := strconv.Atoi(rest[1:4])
	if err != nil {
		return 0
	}
	return n
}

// adopt takes over a live call of a dead process and runs it on its own
// goroutine, from its stored phase.
func (s *Calls) adopt(ctx context.Context, rec hotline.Call, alive map[string]ariChannel) {
	c := s.restore(ctx, rec, alive)
	if c.rec.Phase == "" { // stored before phases were
		c.rec.Phase = hotline.PhaseQueued
		if c.rec.FirstResponsibleAgent != "" {
			c.rec.Phase = hotline.PhaseTalking
		}
	}
	c.setPhase(c.rec.Phase)
	if alive[c.citizen].State != "Up" {
		if err := s.cli.ARI().Channel().Answer(key(ari.ChannelKey, c.citizen)); err != nil {
			s.log.Warn("answer adopted call", "call", c.rec.ID, "err", err)
		}
	}
	d := s.cli.Dispatcher()
	d.Route(ari.ChannelKey, c.citizen, c.mb)
	if c.rec.BridgeID != "" {
		d.Route(ari.BridgeKey, c.bridge, c.mb)
	}
	for id, l := range c.legs {
		if !l.gone {
			d.Route(ari.ChannelKey, id, c.mb)
		}
	}
	if r := c.recorder; r != nil {
		if r.snoop != "" {
			d.Route(ari.ChannelKey, r.snoop, c.mb)
		}
		if r.live != "" {
			d.Route(ari.LiveRecordingKey, r.live, c.mb)
		}
	}
	s.log.Info("call taken over from a process that died", "call", c.rec.ID, "phase", c.rec.Phase,
		"agent", c.rec.FirstResponsibleAgent, "recording", c.rec.RecordingName)
	s.track(c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.resume(s.runCtx)
	}()
}

// closeInterrupted closes a call of a dead process whose citizen is gone:
// it ended unobserved, at the last time it was known alive.
func (s *Calls) closeInterrupted(ctx context.Context, rec hotline.Call, alive map[string]ariChannel) {
	c := s.restore(ctx, rec, alive)
	c.gone = true
	c.rec.InterruptedAt = s.now()
	if c.rec.Phase == "" || c.rec.Phase.Live() {
		c.rec.Phase = hotline.PhaseQueued // not ended yet: endAt runs
	}
	last := lastSeen(rec)
	s.log.Warn("call ended while the service was away; closed as interrupted", "call", rec.ID, "state", rec.State,
		"agent", rec.FirstResponsibleAgent, "last_seen", last)
	c.endAt(ctx, last, hotline.MissedInterrupted)
}

// lastSeen is the last time a stored call is known to have been alive.
func lastSeen(c hotline.Call) time.Time {
	t := c.ArrivedAt
	later := func(u time.Time) {
		if u.After(t) {
			t = u
		}
	}
	later(c.AnsweredAt)
	for _, l := range c.Legs {
		later(l.RungAt)
		later(l.AnsweredAt)
		later(l.EndedAt)
	}
	if c.Rating != nil {
		later(c.Rating.RatedAt)
	}
	return t
}

// resume runs an adopted call from its phase. Legs that were ringing when
// the process died lost their ring timers with it: they are hung up and
// ringing starts over.
func (c *call) resume(ctx context.Context) {
	defer c.cleanup()
	defer c.maxWait.Stop()
	defer c.retry.Stop()
	for id, l := range c.legs {
		if !l.gone && !l.bridged {
			c.legEnded(l, hotline.LegCancelled)
			c.hangup(id)
			c.saveLeg(ctx, l, false)
		}
	}
	if r := c.recorder; r != nil && r.live == "" {
		// The recording ended while nobody listened: keep what there is
		// and go on in a new part.
		r.archived = 0
		c.recordingEndedEarly(ctx)
	}
	switch {
	case c.rec.FirstResponsibleAgent == "" && c.rec.BridgeID == "":
		// The process died before the citizen had a bridge.
		if err := c.setup(); err != nil {
			c.s.log.Error("call setup failed", "call", c.rec.ID, "err", err)
			c.finish(ctx, hotline.MissedFailed)
			return
		}
		c.queue(ctx)
	case c.rec.FirstResponsibleAgent == "":
		c.queue(ctx)
	case c.bridgedAgents() == 0: // the agent left while nobody listened, or the survey ran
		c.agentLeft(ctx)
	default:
		c.persist(ctx, false)
		c.loop(ctx)
	}
}

// Drain stops taking new calls and waits until the calls in progress have
// ended or ctx ends; it returns how many are still going. Each citizen
// who arrives meanwhile goes back to the dialplan's fallback
// (CallConfig.Fallback): the apology and a voice message, recorded like
// any call the service missed, instead of a service about to stop.
func (s *Calls) Drain(ctx context.Context) int {
	s.draining.Store(true)
	for {
		s.mu.Lock()
		n := len(s.active)
		ch := s.idle
		s.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-ch:
		}
	}
}

// LeaveLive makes Stop leave the calls still in progress to Asterisk
// instead of ending them: after the drain timeout, a conversation is not
// cut because the service stops. Their goroutines end without a request
// to Asterisk or a write; Asterisk keeps the channels, bridge and
// recording (trace 14), and the next process to connect, a standby
// taking over or this one restarted, adopts them (Reconcile): the agent
// stays responsible, the recording goes on or is archived.
func (s *Calls) LeaveLive() { s.leaveLive.Store(true) }

// toFallback sends a new citizen back to the dialplan's fallback, for
// reason (Calls.admit).
func (s *Calls) toFallback(id, reason string) {
	f := s.cfg.Fallback
	err := s.cli.ARI().Channel().Continue(key(ari.ChannelKey, id), f.Context, f.Extension, f.Priority)
	if err != nil {
		s.log.Error("could not send a new call to the dialplan's fallback", "channel", id, "reason", reason, "err", err)
		return
	}
	if reason == "draining" {
		s.log.Info("draining: new call sent to the dialplan's fallback", "channel", id)
	}
}
