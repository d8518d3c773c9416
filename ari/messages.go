package ari

import (
	"context"
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"hotline"
)

// Messenger pushes text to staff softphones as SIP MESSAGEs through ARI
// sendMessage. The library sends its variables in a shape Asterisk ignores,
// so everything the agent needs is in the body.
type Messenger struct {
	cli    *Client
	roster *hotline.Roster
	from   string
	sent   *prometheus.CounterVec // result
}

// NewMessenger sends as from (a SIP URI such as "sip:hotline@127.0.0.1";
// Asterisk shows a missing one as sip:(null)@…).
func NewMessenger(cli *Client, roster *hotline.Roster, from string, reg prometheus.Registerer) *Messenger {
	m := &Messenger{cli: cli, roster: roster, from: from,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_softphone_messages_total", Help: "SIP MESSAGEs pushed to staff softphones, by result."}, []string{"result"})}
	if reg != nil {
		reg.MustRegister(m.sent)
	}
	return m
}

// NotifyAgent pushes text to one agent's softphone. An unregistered
// softphone is an Unavailable error: Asterisk answers 404 and keeps nothing.
func (m *Messenger) NotifyAgent(ctx context.Context, agentID, text string) error {
	const op = "ari.NotifyAgent"
	a, ok := m.roster.Get(agentID)
	if !ok {
		return hotline.Errorf(hotline.KindNotFound, op, "agent %q not found", agentID)
	}
	return m.send(a, text)
}

// NotifySupervisors pushes text to every supervisor; it fails only when
// nobody could be reached.
func (m *Messenger) NotifySupervisors(ctx context.Context, text string) error {
	const op = "ari.NotifySupervisors"
	var errs []error
	reached := 0
	for _, a := range m.roster.List() {
		if a.Role != hotline.RoleSupervisor {
			continue
		}
		if err := m.send(a, text); err != nil {
			errs = append(errs, err)
			continue
		}
		reached++
	}
	if reached == 0 {
		if len(errs) == 0 {
			return hotline.Errorf(hotline.KindUnavailable, op, "no supervisor is configured to receive: %s", text)
		}
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: op, Retryable: true, Message: "no supervisor could be reached", Err: errors.Join(errs...)}
	}
	return nil
}

func (m *Messenger) send(a hotline.Agent, text string) error {
	tech, res, ok := strings.Cut(a.Endpoint, "/")
	if !ok {
		return hotline.Errorf(hotline.KindInvalid, "ari.send", "agent %s has no usable endpoint %q", a.ID, a.Endpoint)
	}
	if err := m.cli.ARI().TextMessage().Send(m.from, tech, res, text, nil); err != nil {
		m.sent.WithLabelValues("failed").Inc()
		if httpStatus(err) == 404 {
			return hotline.Errorf(hotline.KindUnavailable, "ari.send", "softphone %s of agent %s is not registered", a.Endpoint, a.ID)
		}
		return &hotline.Error{Kind: hotline.KindUnavailable, Op: "ari.send", Retryable: true, Message: "message to " + a.Endpoint, Err: err}
	}
	m.sent.WithLabelValues("sent").Inc()
	return nil
}
