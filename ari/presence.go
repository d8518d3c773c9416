package ari

import (
	"context"
	"strings"

	"github.com/CyCoreSystems/ari/v5"

	"hotline"
)

// syncPresence runs after every connection: it subscribes the application
// to each agent's softphone endpoint, so registrations and crashes arrive as
// EndpointStateChange, and reads each endpoint's state now, since changes
// made while we were disconnected were never sent.
func (s *Calls) syncPresence(ctx context.Context) {
	cl := s.cli.ARI()
	app := ari.NewKey(ari.ApplicationKey, s.cli.Application())
	for _, a := range s.roster.List() {
		tech, res, ok := strings.Cut(a.Endpoint, "/")
		if !ok || ctx.Err() != nil {
			continue
		}
		if err := cl.Application().Subscribe(app, "endpoint:"+a.Endpoint); err != nil {
			s.log.Warn("subscribe to agent endpoint", "agent", a.ID, "endpoint", a.Endpoint, "err", err)
		}
		data, err := cl.Endpoint().Data(ari.NewEndpointKey(tech, res))
		switch {
		case httpStatus(err) == 404:
			s.endpointState(ctx, a.Endpoint, "offline")
		case err != nil:
			s.log.Warn("read agent endpoint", "agent", a.ID, "endpoint", a.Endpoint, "err", err)
		default:
			s.endpointState(ctx, a.Endpoint, data.State)
		}
	}
}

// endpointState applies an endpoint's registration state to its agent: an
// unregistered softphone is offline; one that comes back is available,
// unless the agent paused meanwhile.
func (s *Calls) endpointState(ctx context.Context, endpoint, state string) {
	a, ok := s.roster.ByEndpoint(endpoint)
	if !ok {
		return
	}
	var next hotline.AgentState
	switch {
	case state == "offline" || state == "unknown":
		if a.State == hotline.AgentOffline {
			return
		}
		next = hotline.AgentOffline
	case a.State == hotline.AgentOffline:
		next = hotline.AgentAvailable
	default:
		return
	}
	if _, ok := s.roster.SetState(a.ID, next, ""); !ok {
		return
	}
	s.log.Info("agent presence changed", "agent", a.ID, "endpoint", endpoint, "state", next)
	if err := s.store.SetAgentState(context.WithoutCancel(ctx), a.ID, next, "", s.now()); err != nil {
		s.m.storeErrors.Inc()
		s.log.Error("store agent state", "agent", a.ID, "err", err)
	}
}
