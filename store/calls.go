package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// callRow is a calls row as the statements read and write it.
type callRow struct {
	ID                    string         `db:"id"`
	ChannelID             string         `db:"channel_id"`
	CallerRaw             string         `db:"caller_raw"`
	CallerNumber          string         `db:"caller_number"`
	DialedNumber          string         `db:"dialed_number"`
	Line                  string         `db:"line"`
	State                 string         `db:"state"`
	MissedReason          string         `db:"missed_reason"`
	FirstResponsibleAgent sql.NullString `db:"first_responsible_agent"` // NULL until answered
	RecordingName         string         `db:"recording_name"`
	RecordingParts        string         `db:"recording_parts"` // comma-separated
	VoicemailName         string         `db:"voicemail_name"`
	ArrivedMs             int64          `db:"arrived_ms"`
	AnsweredMs            int64          `db:"answered_ms"`
	EndedMs               int64          `db:"ended_ms"`
	Phase                 string         `db:"phase"`
	BridgeID              string         `db:"bridge_id"`
	SnoopID               string         `db:"snoop_id"`
	InterruptedMs         int64          `db:"interrupted_ms"`
}

func callToRow(c hotline.Call) callRow {
	return callRow{
		ID:                    c.ID,
		ChannelID:             c.ChannelID,
		CallerRaw:             c.CallerRaw,
		CallerNumber:          c.CallerNumber,
		DialedNumber:          c.DialedNumber,
		Line:                  string(c.Line),
		State:                 string(c.State),
		MissedReason:          string(c.MissedReason),
		FirstResponsibleAgent: nullString(c.FirstResponsibleAgent),
		RecordingName:         c.RecordingName,
		RecordingParts:        strings.Join(c.RecordingParts, ","),
		VoicemailName:         c.VoicemailName,
		ArrivedMs:             hotline.UnixMilli(c.ArrivedAt),
		AnsweredMs:            hotline.UnixMilli(c.AnsweredAt),
		EndedMs:               hotline.UnixMilli(c.EndedAt),
		Phase:                 string(c.Phase),
		BridgeID:              c.BridgeID,
		SnoopID:               c.SnoopID,
		InterruptedMs:         hotline.UnixMilli(c.InterruptedAt),
	}
}

func (r callRow) call() hotline.Call {
	return hotline.Call{
		ID:                    r.ID,
		ChannelID:             r.ChannelID,
		CallerRaw:             r.CallerRaw,
		CallerNumber:          r.CallerNumber,
		DialedNumber:          r.DialedNumber,
		Line:                  hotline.Line(r.Line),
		State:                 hotline.CallState(r.State),
		MissedReason:          hotline.MissedReason(r.MissedReason),
		FirstResponsibleAgent: r.FirstResponsibleAgent.String,
		RecordingName:         r.RecordingName,
		RecordingParts:        splitList(r.RecordingParts),
		VoicemailName:         r.VoicemailName,
		ArrivedAt:             hotline.FromUnixMilli(r.ArrivedMs),
		AnsweredAt:            hotline.FromUnixMilli(r.AnsweredMs),
		EndedAt:               hotline.FromUnixMilli(r.EndedMs),
		Phase:                 hotline.CallPhase(r.Phase),
		BridgeID:              r.BridgeID,
		SnoopID:               r.SnoopID,
		InterruptedAt:         hotline.FromUnixMilli(r.InterruptedMs),
	}
}

// splitList reads a comma-separated column; "" is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// nullString stores "" as NULL, for columns where NULL means "none" and a
// foreign key must not see an empty id.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// legRow is a call_legs row as the statements read and write it.
type legRow struct {
	ID         int64  `db:"id"`
	CallID     string `db:"call_id"`
	AgentID    string `db:"agent_id"`
	ChannelID  string `db:"channel_id"`
	Outcome    string `db:"outcome"`
	Cause      int    `db:"cause"`
	RungMs     int64  `db:"rung_ms"`
	AnsweredMs int64  `db:"answered_ms"`
	EndedMs    int64  `db:"ended_ms"`
}

func legToRow(l hotline.CallLeg) legRow {
	return legRow{
		ID:         l.ID,
		CallID:     l.CallID,
		AgentID:    l.AgentID,
		ChannelID:  l.ChannelID,
		Outcome:    string(l.Outcome),
		Cause:      l.Cause,
		RungMs:     hotline.UnixMilli(l.RungAt),
		AnsweredMs: hotline.UnixMilli(l.AnsweredAt),
		EndedMs:    hotline.UnixMilli(l.EndedAt),
	}
}

func (r legRow) leg() hotline.CallLeg {
	return hotline.CallLeg{
		ID:         r.ID,
		CallID:     r.CallID,
		AgentID:    r.AgentID,
		ChannelID:  r.ChannelID,
		Outcome:    hotline.LegOutcome(r.Outcome),
		Cause:      r.Cause,
		RungAt:     hotline.FromUnixMilli(r.RungMs),
		AnsweredAt: hotline.FromUnixMilli(r.AnsweredMs),
		EndedAt:    hotline.FromUnixMilli(r.EndedMs),
	}
}

// callWrite is a calls row with the store's clock for updated_ms.
type callWrite struct {
	callRow
	NowMs int64 `db:"now_ms"`
}

// createCallSQL inserts one calls row.
const createCallSQL = `
INSERT INTO calls (id, channel_id, caller_raw, caller_number, dialed_number, line, state,
                   missed_reason, first_responsible_agent, recording_name, recording_parts, voicemail_name,
                   arrived_ms, answered_ms, ended_ms, phase, bridge_id, snoop_id, interrupted_ms, updated_ms)
VALUES (:id, :channel_id, :caller_raw, :caller_number, :dialed_number, :line, :state,
        :missed_reason, :first_responsible_agent, :recording_name, :recording_parts, :voicemail_name,
        :arrived_ms, :answered_ms, :ended_ms, :phase, :bridge_id, :snoop_id, :interrupted_ms, :now_ms)`

// CreateCall stores a new call. Its legs are stored by AddLeg, not here. A
// second call with the same id is a conflict.
func (db *DB) CreateCall(ctx context.Context, c hotline.Call) error {
	const op = "store.CreateCall"
	if err := validateCall(op, c); err != nil {
		return err
	}
	stmt, err := db.namedWrite(ctx, createCallSQL)
	if err == nil {
		_, err = db.execPrepared(ctx, stmt, callWrite{callToRow(c), db.nowMs()})
	}
	return wrapErr(op, fmt.Sprintf("call %q", c.ID), err)
}

func validateCall(op string, c hotline.Call) error {
	switch {
	case strings.TrimSpace(c.ID) == "":
		return hotline.Errorf(hotline.KindInvalid, op, "call id is required")
	case c.ArrivedAt.IsZero():
		return hotline.Errorf(hotline.KindInvalid, op, "call %q: arrival time is required", c.ID)
	}
	return nil
}

// updateCallSQL writes the mutable columns of one calls row (all but id,
// line and arrived_ms). It matches no row when the row's
// first_responsible_agent is set to another value: clause 3.1 forbids
// changing it, and the trigger calls_first_responsible_agent_is_final
// enforces the same for every other statement.
const updateCallSQL = `
UPDATE calls SET
    channel_id              = :channel_id,
    caller_raw              = :caller_raw,
    caller_number           = :caller_number,
    dialed_number           = :dialed_number,
    state                   = :state,
    missed_reason           = :missed_reason,
    first_responsible_agent = :first_responsible_agent,
    recording_name          = :recording_name,
    recording_parts         = :recording_parts,
    voicemail_name          = :voicemail_name,
    answered_ms             = :answered_ms,
    ended_ms                = :ended_ms,
    phase                   = :phase,
    bridge_id               = :bridge_id,
    snoop_id                = :snoop_id,
    interrupted_ms          = :interrupted_ms,
    updated_ms              = :now_ms
WHERE id = :id
  AND (first_responsible_agent IS NULL OR first_responsible_agent = :first_responsible_agent)`

// updateCallProgressSQL writes the columns of one calls row that no index
// and no report trigger reads but the phase (recording, bridge, snoop,
// phase, interruption, updated_ms), and matches the row only when every
// other column updateCallSQL writes already holds the value given. Most
// writes of a call in progress change only these: this statement leaves
// the row's six indexes and its triggers alone, where updateCallSQL
// rewrites an entry in each. A call whose other columns changed matches
// no row, and updateCallSQL writes it.
const updateCallProgressSQL = `
UPDATE calls SET
    recording_name  = :recording_name,
    recording_parts = :recording_parts,
    voicemail_name  = :voicemail_name,
    phase           = :phase,
    bridge_id       = :bridge_id,
    snoop_id        = :snoop_id,
    interrupted_ms  = :interrupted_ms,
    updated_ms      = :now_ms
WHERE id = :id
  AND channel_id = :channel_id AND caller_raw = :caller_raw AND caller_number = :caller_number
  AND dialed_number = :dialed_number AND state = :state AND missed_reason = :missed_reason
  AND COALESCE(first_responsible_agent, '') = COALESCE(:first_responsible_agent, '')
  AND answered_ms = :answered_ms AND ended_ms = :ended_ms`

// callResponsibleSQL reads first_responsible_agent of one calls row.
const callResponsibleSQL = `SELECT first_responsible_agent FROM calls WHERE id = ?`

// UpdateCall stores the call's current state. It refuses, as a conflict, to
// change or clear a first-responsible agent already stored; NotFound when the
// call was never created. Legs are stored by AddLeg and UpdateLeg.
func (db *DB) UpdateCall(ctx context.Context, c hotline.Call) error {
	const op = "store.UpdateCall"
	stmts, err := db.callUpdates(ctx)
	if err != nil {
		return wrapErr(op, fmt.Sprintf("call %q", c.ID), err)
	}
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error { return db.updateCallIn(ctx, tx, stmts, op, c) })
	return wrapErr(op, fmt.Sprintf("call %q", c.ID), err)
}

// callUpdateStmts are the prepared updateCallProgressSQL and updateCallSQL.
type callUpdateStmts struct{ progress, full *sqlx.NamedStmt }

func (db *DB) callUpdates(ctx context.Context) (callUpdateStmts, error) {
	progress, err := db.namedWrite(ctx, updateCallProgressSQL)
	if err != nil {
		return callUpdateStmts{}, err
	}
	full, err := db.namedWrite(ctx, updateCallSQL)
	return callUpdateStmts{progress, full}, err
}

// updateCallIn is UpdateCall's write in tx: the progress statement when
// it matches, the full one otherwise.
func (db *DB) updateCallIn(ctx context.Context, tx *sqlx.Tx, stmts callUpdateStmts, op string, c hotline.Call) error {
	subject := fmt.Sprintf("call %q", c.ID)
	row := callWrite{callToRow(c), db.nowMs()}
	res, err := tx.NamedStmtContext(ctx, stmts.progress).ExecContext(ctx, row)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return wrapErr(op, subject, err)
	}
	res, err = tx.NamedStmtContext(ctx, stmts.full).ExecContext(ctx, row)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, subject, err)
	}
	if n == 1 {
		return nil
	}
	// No row matched: the call is missing (NotFound from the read) or
	// has another first-responsible agent.
	var stored sql.NullString
	if err := tx.GetContext(ctx, &stored, callResponsibleSQL, c.ID); err != nil {
		return wrapErr(op, subject, err)
	}
	return hotline.Errorf(hotline.KindConflict, op,
		"call %q: first responsible agent is %s and cannot become %q", c.ID, stored.String, c.FirstResponsibleAgent)
}

// SaveCall writes what one step of a call changed in one transaction: the
// call's state (as UpdateCall; nil when it did not change), its legs'
// outcomes and times (as UpdateLeg) and agents' states (as
// SetAgentState). One transaction instead of one each is what lets the
// one writer keep up with many calls; either all of it is stored or
// nothing.
func (db *DB) SaveCall(ctx context.Context, c *hotline.Call, legs []hotline.CallLeg, agents []hotline.AgentStateChange) error {
	const op = "store.SaveCall"
	for _, a := range agents {
		if !a.State.Valid() {
			return hotline.Errorf(hotline.KindInvalid, op, "agent %q: unknown state %q", a.AgentID, a.State)
		}
	}
	callStmts, err := db.callUpdates(ctx)
	if err != nil {
		return wrapErr(op, "calls", err)
	}
	legStmt, err := db.namedWrite(ctx, updateLegSQL)
	if err != nil {
		return wrapErr(op, "call legs", err)
	}
	err = db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if c != nil {
			if err := db.updateCallIn(ctx, tx, callStmts, op, *c); err != nil {
				return err
			}
		}
		for _, l := range legs {
			subject := fmt.Sprintf("leg %d", l.ID)
			res, err := tx.NamedStmtContext(ctx, legStmt).ExecContext(ctx, legToRow(l))
			if err != nil {
				return wrapErr(op, subject, err)
			}
			if err := expectOneRow(op, subject, res); err != nil {
				return err
			}
		}
		for _, a := range agents {
			subject := fmt.Sprintf("agent %q", a.AgentID)
			reason := a.Reason
			if a.State != hotline.AgentPaused {
				reason = ""
			}
			res, err := tx.ExecContext(ctx, setAgentStateSQL, a.State, reason, hotline.UnixMilli(a.At), db.nowMs(), a.AgentID)
			if err != nil {
				return wrapErr(op, subject, err)
			}
			if err := expectOneRow(op, subject, res); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr(op, "call changes", err)
}

const callColumns = `id, channel_id, caller_raw, caller_number, dialed_number, line, state, missed_reason,
    first_responsible_agent, recording_name, recording_parts, voicemail_name, arrived_ms, answered_ms, ended_ms,
    phase, bridge_id, snoop_id, interrupted_ms`

// getCallSQL reads one calls row by id.
const getCallSQL = `SELECT ` + callColumns + ` FROM calls WHERE id = ?`

// callLegsSQL reads the call_legs rows of one call, in the order they were
// rung.
const callLegsSQL = `
SELECT id, call_id, agent_id, channel_id, outcome, cause, rung_ms, answered_ms, ended_ms
FROM call_legs WHERE call_id = ? ORDER BY rung_ms, id`

// GetCall returns the call with id, its legs in the order they were rung,
// its referrals in the order they were requested, and its rating (nil when
// there is none); NotFound when there is no such call. All are read from one
// snapshot.
func (db *DB) GetCall(ctx context.Context, id string) (hotline.Call, error) {
	const op = "store.GetCall"
	var call hotline.Call
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var row callRow
		if err := tx.GetContext(ctx, &row, getCallSQL, id); err != nil {
			return err
		}
		var legs []legRow
		if err := tx.SelectContext(ctx, &legs, callLegsSQL, id); err != nil {
			return err
		}
		var referrals []referralRow
		if err := tx.SelectContext(ctx, &referrals, callReferralsSQL, id); err != nil {
			return err
		}
		rating, err := readRating(ctx, tx, id)
		if err != nil {
			return err
		}
		call = row.call()
		for _, l := range legs {
			call.Legs = append(call.Legs, l.leg())
		}
		for _, r := range referrals {
			call.Referrals = append(call.Referrals, r.referral())
		}
		call.Rating = rating
		return nil
	})
	if err != nil {
		return hotline.Call{}, wrapErr(op, fmt.Sprintf("call %q", id), err)
	}
	return call, nil
}

// unfinishedCallsSQL reads the ids of the calls rows still in progress
// (ringing, answered) or whose end is stored but not finished (phase
// ending), oldest first.
const unfinishedCallsSQL = `SELECT id FROM calls INDEXED BY calls_unfinished
WHERE state IN ('ringing', 'answered') OR phase = 'ending' ORDER BY arrived_ms, id`

// UnfinishedCalls returns, with their legs, the calls still in progress and
// those whose end was stored but not finished: after a crash, the calls
// reconciliation with Asterisk must take over or close.
func (db *DB) UnfinishedCalls(ctx context.Context) ([]hotline.Call, error) {
	const op = "store.UnfinishedCalls"
	var ids []string
	if err := db.reader.SelectContext(ctx, &ids, unfinishedCallsSQL); err != nil {
		return nil, wrapErr(op, "calls", err)
	}
	out := make([]hotline.Call, 0, len(ids))
	for _, id := range ids {
		c, err := db.GetCall(ctx, id)
		if hotline.KindOf(err) == hotline.KindNotFound {
			continue // deleted meanwhile (retention)
		}
		if err != nil {
			return nil, wrapErr(op, fmt.Sprintf("call %q", id), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Page sizes of ListCalls.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// CallFilter selects calls for ListCalls; zero fields select everything.
type CallFilter struct {
	Since        time.Time           // arrived at or after
	Until        time.Time           // arrived before
	State        hotline.CallState   // in this state
	Outcome      hotline.CallOutcome // with this outcome
	Line         hotline.Line        // on this line
	AgentID      string              // with this first-responsible agent
	Party        string              // with this agent responsible or on a leg
	CallerNumber string              // from this normalised number
	Uncallable   bool                // only calls whose number cannot be called back (withheld, invalid)
	Rated        *bool               // true: the citizen rated the call (1..5); false: not rated
	Reviewed     *bool               // true: a supervisor reviewed the call; false: not reviewed
	After        hotline.CallCursor  // only calls listed after this one (keyset paging)
	Limit        int                 // at most this many; 0 means DefaultListLimit, at most MaxListLimit
	Offset       int                 // skipping this many of the newest
}

// listCallsSQL reads calls rows, newest first (by arrival, then id);
// ListCalls fills in the index it reads them through and the conditions of
// the WHERE clause.
const listCallsSQL = `SELECT ` + callColumns + ` FROM calls INDEXED BY %s WHERE %%s
ORDER BY arrived_ms DESC, id DESC LIMIT ? OFFSET ?`

// callsIndex is the index ListCalls reads calls through for f. It is
// chosen here, not by the planner: without statistics SQLite weighs every
// equality alike and may walk all calls in a state to find one agent's or
// one number's. The most selective filter leads: a number, then an agent
// (with its state when one state is asked), a missed reason, the few calls
// in progress or one state, else the log in arrival order.
func callsIndex(f CallFilter, states []hotline.CallState, reason hotline.MissedReason) string {
	switch {
	case f.CallerNumber != "" || f.Uncallable:
		return "calls_by_caller"
	case f.AgentID != "" && len(states) == 1:
		return "calls_by_agent_state"
	case f.AgentID != "":
		return "calls_by_agent"
	case reason != "":
		return "calls_missed_by_reason"
	case len(states) == 1 || f.Outcome == hotline.OutcomeInProgress:
		return "calls_by_state"
	}
	return "calls_by_arrived"
}

// ListCalls returns the calls that match f, newest first, without their
// legs, referrals and rating (GetCall reads those).
func (db *DB) ListCalls(ctx context.Context, f CallFilter) ([]hotline.Call, error) {
	return db.listCalls(ctx, f, true)
}

// listCalls is ListCalls; throughParty false reads an agent's own calls
// call by call instead of through the agent's indexes (the tests compare
// the two).
func (db *DB) listCalls(ctx context.Context, f CallFilter, throughParty bool) ([]hotline.Call, error) {
	const op = "store.ListCalls"
	switch {
	case f.Limit < 0 || f.Limit > MaxListLimit:
		return nil, hotline.Errorf(hotline.KindInvalid, op, "limit %d must be between 0 and %d", f.Limit, MaxListLimit)
	case f.Offset < 0:
		return nil, hotline.Errorf(hotline.KindInvalid, op, "offset %d must not be negative", f.Offset)
	case !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since):
		return nil, hotline.Errorf(hotline.KindInvalid, op, "until %s must be after since %s", f.Until, f.Since)
	case f.Outcome != "" && !f.Outcome.Valid():
		return nil, hotline.Errorf(hotline.KindInvalid, op, "unknown call outcome %q", f.Outcome)
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}

	// The states the call may be in: the state asked for, narrowed by the
	// outcome's.
	states := f.Outcome.States()
	if f.State != "" {
		states = []hotline.CallState{f.State}
		if f.Outcome != "" && !f.Outcome.Matches(hotline.Call{State: f.State, MissedReason: f.Outcome.MissedReason()}) {
			return []hotline.Call{}, nil // e.g. state=ringing&outcome=missed
		}
	}
	reason := f.Outcome.MissedReason()

	conds, args := []string{"TRUE"}, []any{}
	add := func(cond string, a ...any) { conds, args = append(conds, cond), append(args, a...) }
	if !f.Since.IsZero() {
		add("arrived_ms >= ?", hotline.UnixMilli(f.Since))
	}
	if !f.Until.IsZero() {
		add("arrived_ms < ?", hotline.UnixMilli(f.Until))
	}
	if !f.After.IsZero() {
		add("(arrived_ms, id) < (?, ?)", hotline.UnixMilli(f.After.ArrivedAt), f.After.ID)
	}
	switch {
	case len(states) == 0:
	case states[0] == hotline.CallMissed:
		// Written out so that the partial index calls_missed_by_reason,
		// whose WHERE term it repeats, may be read.
		add("state = 'missed'")
	case len(states) == 1:
		add("state = ?", states[0])
	default:
		add("state IN (?, ?)", states[0], states[1])
	}
	if reason != "" {
		add("missed_reason = ?", reason)
	}
	if f.Line != "" {
		add("line = ?", f.Line)
	}
	if f.AgentID != "" {
		add("first_responsible_agent = ?", f.AgentID)
	}
	// An agent's own calls with no more selective filter are read through
	// the agent's indexes (listPartyCalls), with every other condition.
	throughParty = throughParty && f.Party != "" && f.AgentID == "" && f.CallerNumber == "" && !f.Uncallable
	if f.Party != "" && !throughParty {
		// Per call, through call_legs_by_call (named: the planner would
		// walk all of the agent's legs through call_legs_by_agent for each
		// call); a list of every leg the agent ever had would grow with the
		// log.
		add("(first_responsible_agent = ? OR EXISTS (SELECT 1 FROM call_legs INDEXED BY call_legs_by_call "+
			"WHERE call_legs.call_id = calls.id AND call_legs.agent_id = ?))",
			f.Party, f.Party)
	}
	if f.Uncallable {
		add("caller_number = ''")
	}
	if f.CallerNumber != "" {
		add("caller_number = ?", f.CallerNumber)
	}
	if f.Rated != nil {
		add(notUnless(*f.Rated) + "EXISTS (SELECT 1 FROM ratings WHERE ratings.call_id = calls.id AND ratings.score > 0)")
	}
	if f.Reviewed != nil {
		add(notUnless(*f.Reviewed) + "EXISTS (SELECT 1 FROM reviews WHERE reviews.call_id = calls.id)")
	}
	if throughParty {
		return db.listPartyCalls(ctx, f, states, reason, conds, args, limit)
	}
	query := fmt.Sprintf(listCallsSQL, callsIndex(f, states, reason))
	return selectPage(ctx, db, op, "calls", query, conds, args, limit, f.Offset, callRow.call)
}

// callLegLagSQL reads the one call_leg_lag row: the bounds of a leg's
// rung_ms - its call's arrived_ms.
const callLegLagSQL = `SELECT min_ms, max_ms FROM call_leg_lag WHERE id = 1`

// recountLegLagSQL sets the call_leg_lag row from every call_legs row and
// its calls row: after a copy, whose rows arrive with the triggers off.
const recountLegLagSQL = `UPDATE call_leg_lag SET (min_ms, max_ms) = (
    SELECT coalesce(min(l.rung_ms - c.arrived_ms), 0), coalesce(max(l.rung_ms - c.arrived_ms), 0)
    FROM call_legs AS l JOIN calls AS c ON c.id = l.call_id)
WHERE id = 1`

// partyLegsSQL reads call_id, rung_ms and id of the call_legs rows of
// agent ?1 rung at or after ?2 and before (rung_ms ?3, id ?4), newest
// first, at most ?5, through call_legs_by_agent.
const partyLegsSQL = `SELECT call_id, rung_ms, id FROM call_legs INDEXED BY call_legs_by_agent
WHERE agent_id = ?1 AND rung_ms >= ?2 AND (rung_ms, id) < (?3, ?4)
ORDER BY rung_ms DESC, id DESC LIMIT ?5`

// partyLegBatch is how many legs listPartyCalls reads at a time.
const partyLegBatch = 128

// callsByIDSQL reads the calls rows of partyLegBatch ids (padded with empty
// ids, which no call has, so the statement is always the same) that meet the
// conditions filled in, by primary key.
var callsByIDSQL = `SELECT ` + callColumns + ` FROM calls WHERE id IN (?` + strings.Repeat(", ?", partyLegBatch-1) + `) AND %s`

// listPartyCalls lists the calls f.Party was responsible for or rung on
// that meet conds, newest first, in one snapshot: a page of the newest
// calls the agent was responsible for (calls_by_agent), then the agent's
// legs newest rung first (call_legs_by_agent), a batch at a time, with
// their calls. A leg rings lag.min..lag.max after its call arrived, so the
// legs of the period's calls rang in the period moved by those bounds, and
// once a batch's last leg rang before the page's oldest call arrived (plus
// lag.min), no later leg belongs to a call newer than it: the walk stops.
// It reads about as many rows as it lists, where the call-by-call search
// read the month's calls and the legs of each.
func (db *DB) listPartyCalls(ctx context.Context, f CallFilter, states []hotline.CallState, reason hotline.MissedReason,
	conds []string, args []any, limit int) ([]hotline.Call, error) {
	const op = "store.ListCalls"
	want := limit + f.Offset
	var page []callRow
	err := db.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var lag struct {
			Min int64 `db:"min_ms"`
			Max int64 `db:"max_ms"`
		}
		if err := tx.GetContext(ctx, &lag, callLegLagSQL); err != nil {
			return err
		}
		byAgent := f
		byAgent.AgentID = f.Party
		responsible := fmt.Sprintf(listCallsSQL, callsIndex(byAgent, states, reason))
		if err := db.selectOn(ctx, tx, &page, fmt.Sprintf(responsible, strings.Join(append(conds, "first_responsible_agent = ?"), " AND ")),
			append(slices.Clone(args), f.Party, want, 0)...); err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, c := range page {
			listed[c.ID] = true
		}

		from, before := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.Since.IsZero() {
			from = hotline.UnixMilli(f.Since) + lag.Min
		}
		if !f.Until.IsZero() {
			before = hotline.UnixMilli(f.Until) + lag.Max
		}
		if !f.After.IsZero() {
			before = min(before, hotline.UnixMilli(f.After.ArrivedAt)+lag.Max+1)
		}
		beforeID := int64(math.MinInt64)
		byID := fmt.Sprintf(callsByIDSQL, strings.Join(conds, " AND "))
		for {
			var legs []struct {
				CallID string `db:"call_id"`
				RungMs int64  `db:"rung_ms"`
				ID     int64  `db:"id"`
			}
			if err := db.selectOn(ctx, tx, &legs, partyLegsSQL, f.Party, from, before, beforeID, partyLegBatch); err != nil {
				return err
			}
			ids := make([]any, 0, partyLegBatch+len(args))
			for _, l := range legs {
				if !listed[l.CallID] {
					listed[l.CallID] = true
					ids = append(ids, l.CallID)
				}
			}
			if len(ids) > 0 {
				for len(ids) < partyLegBatch {
					ids = append(ids, "")
				}
				var more []callRow
				if err := db.selectOn(ctx, tx, &more, byID, append(ids, args...)...); err != nil {
					return err
				}
				page = append(page, more...)
				slices.SortFunc(page, newestCallFirst)
				page = page[:min(len(page), want)]
			}
			if len(legs) < partyLegBatch {
				return nil
			}
			last := legs[len(legs)-1]
			if len(page) == want && last.RungMs-lag.Min < page[want-1].ArrivedMs {
				return nil
			}
			before, beforeID = last.RungMs, last.ID
		}
	})
	if err != nil {
		return nil, wrapErr(op, "calls", err)
	}
	out := make([]hotline.Call, 0, limit)
	for _, r := range page[min(f.Offset, len(page)):] {
		out = append(out, r.call())
	}
	return out, nil
}

// newestCallFirst orders calls rows as the call log lists them: by arrival,
// then id, newest first.
func newestCallFirst(a, b callRow) int {
	if c := cmp.Compare(b.ArrivedMs, a.ArrivedMs); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// notUnless is "" when yes, else "NOT ", to negate a condition.
func notUnless(yes bool) string {
	if yes {
		return ""
	}
	return "NOT "
}

// addLegSQL inserts one call_legs row and reads the id the database
// picked.
const addLegSQL = `
INSERT INTO call_legs (call_id, agent_id, channel_id, outcome, cause, rung_ms, answered_ms, ended_ms)
VALUES (:call_id, :agent_id, :channel_id, :outcome, :cause, :rung_ms, :answered_ms, :ended_ms)
RETURNING id`

// AddLeg stores a new leg of an existing call to an existing agent and
// returns its id. A second leg on the same channel is a conflict.
func (db *DB) AddLeg(ctx context.Context, l hotline.CallLeg) (int64, error) {
	const op = "store.AddLeg"
	subject := fmt.Sprintf("leg %q of call %q", l.ChannelID, l.CallID)
	stmt, err := db.namedWrite(ctx, addLegSQL)
	if err != nil {
		return 0, wrapErr(op, subject, err)
	}
	var id int64
	if err := db.getPrepared(ctx, stmt, &id, legToRow(l)); err != nil {
		return 0, wrapErr(op, subject, err)
	}
	return id, nil
}

// updateLegSQL writes outcome, cause, answered_ms and ended_ms of one
// call_legs row; the call, agent and channel of a leg never change.
const updateLegSQL = `
UPDATE call_legs
SET outcome = :outcome, cause = :cause, answered_ms = :answered_ms, ended_ms = :ended_ms
WHERE id = :id`

// UpdateLeg stores the leg's outcome and times; NotFound when l.ID is unknown.
func (db *DB) UpdateLeg(ctx context.Context, l hotline.CallLeg) error {
	const op = "store.UpdateLeg"
	subject := fmt.Sprintf("leg %d", l.ID)
	stmt, err := db.namedWrite(ctx, updateLegSQL)
	if err != nil {
		return wrapErr(op, subject, err)
	}
	res, err := db.execPrepared(ctx, stmt, legToRow(l))
	if err != nil {
		return wrapErr(op, subject, err)
	}
	return expectOneRow(op, subject, res)
}

// CallCounts summarises the calls that arrived in a period.
type CallCounts struct {
	Total          int                          `json:"total"`
	Answered       int                          `json:"answered"`    // an agent answered: in progress or completed
	Missed         int                          `json:"missed"`      // ended without an agent
	InProgress     int                          `json:"in_progress"` // not ended: ringing or answered
	MissedByReason map[hotline.MissedReason]int `json:"missed_by_reason"`
}

// callCountsSQL reads how many calls rows arrived since a time, by state and
// missed reason. The period is the selective term: without statistics the
// planner would rather scan every call through calls_by_state.
const callCountsSQL = `
SELECT state, missed_reason, COUNT(*) AS n
FROM calls INDEXED BY calls_by_arrived
WHERE arrived_ms >= ?
GROUP BY state, missed_reason`

// CallCounts counts the calls that arrived at or after since (all calls when
// since is zero).
func (db *DB) CallCounts(ctx context.Context, since time.Time) (CallCounts, error) {
	const op = "store.CallCounts"
	var groups []struct {
		State        string `db:"state"`
		MissedReason string `db:"missed_reason"`
		N            int    `db:"n"`
	}
	if err := db.reader.SelectContext(ctx, &groups, callCountsSQL, hotline.UnixMilli(since)); err != nil {
		return CallCounts{}, wrapErr(op, "calls", err)
	}
	counts := CallCounts{MissedByReason: make(map[hotline.MissedReason]int)}
	for _, g := range groups {
		counts.Total += g.N
		switch hotline.CallState(g.State) {
		case hotline.CallRinging:
			counts.InProgress += g.N
		case hotline.CallAnswered:
			counts.InProgress += g.N
			counts.Answered += g.N
		case hotline.CallCompleted:
			counts.Answered += g.N
		case hotline.CallMissed:
			counts.Missed += g.N
			counts.MissedByReason[hotline.MissedReason(g.MissedReason)] += g.N
		}
	}
	return counts, nil
}

// AgentStats summarises how an agent's phone answered the calls it was rung
// for in a period, for the supervisor's view of refusals (clauses 7.1.4–7.1.6).
type AgentStats struct {
	Answered    int       `json:"answered"`     // legs answered: still talking (answered) or hung up normally (completed)
	Declined    int       `json:"declined"`     // legs refused or busy (busy)
	NotAnswered int       `json:"not_answered"` // legs that rang until the timeout (no_answer)
	LastCallAt  time.Time `json:"last_call_at"` // when the agent was last rung
}

// agentCallStatsSQL reads, per agent, how many call_legs rows rung since a
// time ended answered, declined or unanswered, and the newest rung_ms. The
// period is the selective term, read from the covering index
// call_legs_by_rung; without statistics the planner would rather scan every
// leg through call_legs_by_agent for the GROUP BY.
const agentCallStatsSQL = `
SELECT agent_id,
       count(*) FILTER (WHERE outcome IN ('answered', 'completed')) AS answered,
       count(*) FILTER (WHERE outcome = 'busy')                     AS declined,
       count(*) FILTER (WHERE outcome = 'no_answer')                AS not_answered,
       MAX(rung_ms)                                                 AS last_rung_ms
FROM call_legs INDEXED BY call_legs_by_rung
WHERE rung_ms >= ?
GROUP BY agent_id`

// AgentCallStats counts, per agent id, the legs rung at or after since (all
// legs when since is zero) by how they ended. Legs lost to another agent,
// cancelled, failed or still ringing count in none of the three, but still
// make LastCallAt. Agents not rung in the period are absent from the map.
func (db *DB) AgentCallStats(ctx context.Context, since time.Time) (map[string]AgentStats, error) {
	const op = "store.AgentCallStats"
	var rows []struct {
		AgentID     string `db:"agent_id"`
		Answered    int    `db:"answered"`
		Declined    int    `db:"declined"`
		NotAnswered int    `db:"not_answered"`
		LastRungMs  int64  `db:"last_rung_ms"`
	}
	if err := db.reader.SelectContext(ctx, &rows, agentCallStatsSQL, hotline.UnixMilli(since)); err != nil {
		return nil, wrapErr(op, "call legs", err)
	}
	stats := make(map[string]AgentStats, len(rows))
	for _, r := range rows {
		stats[r.AgentID] = AgentStats{
			Answered:    r.Answered,
			Declined:    r.Declined,
			NotAnswered: r.NotAnswered,
			LastCallAt:  hotline.FromUnixMilli(r.LastRungMs),
		}
	}
	return stats, nil
}

// lastCallByNumberSQL reads the newest calls row from one caller number
// arrived since a time.
const lastCallByNumberSQL = `SELECT ` + callColumns + ` FROM calls
WHERE caller_number = ? AND arrived_ms >= ?
ORDER BY arrived_ms DESC, id DESC LIMIT 1`

// LastCallByNumber returns the newest call from number that arrived at or
// after since, without its legs; NotFound when there is none.
func (db *DB) LastCallByNumber(ctx context.Context, number string, since time.Time) (hotline.Call, error) {
	const op = "store.LastCallByNumber"
	if number == "" {
		return hotline.Call{}, hotline.Errorf(hotline.KindInvalid, op, "a caller number is required")
	}
	var row callRow
	err := db.reader.GetContext(ctx, &row, lastCallByNumberSQL, number, hotline.UnixMilli(since))
	if err != nil {
		return hotline.Call{}, wrapErr(op, fmt.Sprintf("call from %s", number), err)
	}
	return row.call(), nil
}
