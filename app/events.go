package app

import (
	"context"
	"time"

	"hotline"
	"hotline/ari"
	"hotline/callback"
	"hotline/store"
	"hotline/web"
)

// The console is live: what the call flow, the callback service and the
// promise watch write is told to the console's streams after the write
// succeeded (what staff do through the API is told by the HTTP gate). Each
// wrapper passes every call through and publishes what changed and whom
// it concerns, never the data itself.

// callAgents are the staff a call concerns: its responsible agent and
// every agent rung or referred to.
func callAgents(c hotline.Call) []string {
	return web.CallMatter(c).Agents()
}

// liveCallStore is the call flow's store, publishing calls, agents and
// violations.
type liveCallStore struct {
	ari.CallStore
	events *web.Events
}

func (s liveCallStore) CreateCall(ctx context.Context, c hotline.Call) error {
	err := s.CallStore.CreateCall(ctx, c)
	s.publish(err, web.TopicCalls, callAgents(c)...)
	return err
}

func (s liveCallStore) UpdateCall(ctx context.Context, c hotline.Call) error {
	err := s.CallStore.UpdateCall(ctx, c)
	s.publish(err, web.TopicCalls, callAgents(c)...)
	return err
}

func (s liveCallStore) SaveCall(ctx context.Context, c *hotline.Call, legs []hotline.CallLeg, agents []hotline.AgentStateChange) error {
	err := s.CallStore.SaveCall(ctx, c, legs, agents)
	var concerned []string
	if c != nil {
		concerned = callAgents(*c)
	}
	for _, l := range legs {
		concerned = append(concerned, l.AgentID)
	}
	if c != nil || len(legs) > 0 {
		s.publish(err, web.TopicCalls, concerned...)
	}
	if len(agents) > 0 {
		ids := make([]string, len(agents))
		for i, a := range agents {
			ids[i] = a.AgentID
		}
		s.publish(err, web.TopicAgents, ids...)
	}
	return err
}

func (s liveCallStore) AddLeg(ctx context.Context, l hotline.CallLeg) (int64, error) {
	id, err := s.CallStore.AddLeg(ctx, l)
	s.publish(err, web.TopicCalls, l.AgentID)
	return id, err
}

func (s liveCallStore) UpdateLeg(ctx context.Context, l hotline.CallLeg) error {
	err := s.CallStore.UpdateLeg(ctx, l)
	s.publish(err, web.TopicCalls, l.AgentID)
	return err
}

func (s liveCallStore) AddReferral(ctx context.Context, r hotline.Referral) (int64, error) {
	id, err := s.CallStore.AddReferral(ctx, r)
	s.publish(err, web.TopicCalls, r.FromAgent, r.ToAgent)
	return id, err
}

func (s liveCallStore) UpdateReferral(ctx context.Context, r hotline.Referral) error {
	err := s.CallStore.UpdateReferral(ctx, r)
	s.publish(err, web.TopicCalls, r.FromAgent, r.ToAgent)
	return err
}

func (s liveCallStore) SaveRating(ctx context.Context, r hotline.Rating) error {
	err := s.CallStore.SaveRating(ctx, r)
	s.publish(err, web.TopicCalls, r.AgentID)
	return err
}

func (s liveCallStore) SetAgentState(ctx context.Context, id string, state hotline.AgentState, reason string, at time.Time) error {
	err := s.CallStore.SetAgentState(ctx, id, state, reason, at)
	s.publish(err, web.TopicAgents, id)
	return err
}

func (s liveCallStore) AddViolation(ctx context.Context, v hotline.Violation) (int64, error) {
	id, err := s.CallStore.AddViolation(ctx, v)
	s.publish(err, web.TopicViolations, v.AgentID)
	return id, err
}

func (s liveCallStore) publish(err error, topic web.Topic, agents ...string) {
	if err == nil {
		s.events.Publish(web.Event{Topic: topic, Agents: agents})
	}
}

// liveTaskStore is the callback service's store, publishing callback
// tasks (and the violations of escalations and hand-overs).
type liveTaskStore struct {
	callback.Store
	events *web.Events
}

func (s liveTaskStore) AddMissedCall(ctx context.Context, m store.MissedCall) (hotline.CallbackTask, bool, error) {
	t, created, err := s.Store.AddMissedCall(ctx, m)
	if err == nil {
		s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: []string{t.AgentID}})
	}
	return t, created, err
}

func (s liveTaskStore) ClaimTasks(ctx context.Context, ids []int64, batch string, now, leaseUntil time.Time) ([]hotline.CallbackTask, error) {
	ts, err := s.Store.ClaimTasks(ctx, ids, batch, now, leaseUntil)
	if len(ts) > 0 {
		agents := make([]string, len(ts))
		for i, t := range ts {
			agents[i] = t.AgentID
		}
		s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: agents})
	}
	return ts, err
}

func (s liveTaskStore) StartAttempt(ctx context.Context, id int64, token, agentID string, now time.Time) (int64, error) {
	n, err := s.Store.StartAttempt(ctx, id, token, agentID, now)
	if err == nil {
		s.task(ctx, id, agentID)
	}
	return n, err
}

func (s liveTaskStore) FinishAttempt(ctx context.Context, token string, a hotline.CallbackAttempt, t hotline.CallbackTask) error {
	err := s.Store.FinishAttempt(ctx, token, a, t)
	if err == nil {
		s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: []string{t.AgentID, a.AgentID}})
	}
	return err
}

func (s liveTaskStore) SettleAttempt(ctx context.Context, a hotline.CallbackAttempt, t hotline.CallbackTask, now time.Time) error {
	err := s.Store.SettleAttempt(ctx, a, t, now)
	if err == nil {
		s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: []string{t.AgentID, a.AgentID}})
	}
	return err
}

func (s liveTaskStore) ReleaseTask(ctx context.Context, id int64, token string, nextAttempt time.Time) error {
	err := s.Store.ReleaseTask(ctx, id, token, nextAttempt)
	if err == nil {
		s.task(ctx, id)
	}
	return err
}

func (s liveTaskStore) HandOver(ctx context.Context, id int64, token, to string, now time.Time, detail string) (hotline.Violation, error) {
	v, err := s.Store.HandOver(ctx, id, token, to, now, detail)
	if err == nil {
		s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: []string{to, v.AgentID}})
		if v.ID != 0 {
			s.events.Publish(web.Event{Topic: web.TopicViolations, Agents: []string{v.AgentID}})
		}
	}
	return v, err
}

func (s liveTaskStore) ResolveByInbound(ctx context.Context, number, callID string, now time.Time) ([]int64, error) {
	ids, err := s.Store.ResolveByInbound(ctx, number, callID, now)
	for _, id := range ids {
		s.task(ctx, id)
	}
	return ids, err
}

func (s liveTaskStore) Escalate(ctx context.Context, k store.MatterKind, now time.Time, es []store.Escalation) ([]store.Escalated, error) {
	done, err := s.Store.Escalate(ctx, k, now, es)
	publishEscalated(s.events, web.TopicCallbacks, done)
	return done, err
}

// task publishes a change of task id to its agent (read back) and to also.
func (s liveTaskStore) task(ctx context.Context, id int64, also ...string) {
	agents := also
	if t, err := s.Store.GetTask(ctx, id); err == nil {
		agents = append(agents, t.AgentID)
	}
	s.events.Publish(web.Event{Topic: web.TopicCallbacks, Agents: agents})
}

// livePromiseStore is the promise watch's store, publishing escalations.
type livePromiseStore struct {
	callback.PromiseStore
	events *web.Events
}

func (s livePromiseStore) Escalate(ctx context.Context, k store.MatterKind, now time.Time, es []store.Escalation) ([]store.Escalated, error) {
	done, err := s.PromiseStore.Escalate(ctx, k, now, es)
	publishEscalated(s.events, web.TopicPromises, done)
	return done, err
}

// publishEscalated tells of the matters an escalation won, and of the
// violations it recorded, to their agents.
func publishEscalated(events *web.Events, topic web.Topic, done []store.Escalated) {
	var agents []string
	for _, e := range done {
		if e.Won {
			agents = append(agents, e.Violation.AgentID)
		}
	}
	if len(agents) > 0 {
		events.Publish(web.Event{Topic: topic, Agents: agents})
		events.Publish(web.Event{Topic: web.TopicViolations, Agents: agents})
	}
}
