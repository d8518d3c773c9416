package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

// exec runs raw SQL statements on the writer for tables that have no
// statements of their own yet, and returns the first error as the store
// classifies it.
func (f fixture) exec(t *testing.T, statements ...string) error {
	t.Helper()
	for _, s := range statements {
		if _, err := f.db.writer.ExecContext(f.ctx, s); err != nil {
			return wrapErr("test", s, err)
		}
	}
	return nil
}

// dbMessage is the part of a constraint's error that names it, as SQLite
// words it, in the words of the database the tests run on.
func dbMessage(sqlite string) string {
	if !onPostgres() {
		return sqlite
	}
	return map[string]string{
		"UNIQUE":                "duplicate key value violates unique constraint",
		"CHECK":                 "violates check constraint",
		"FOREIGN KEY":           "violates foreign key constraint",
		"callback_tasks.number": "callback_tasks_one_open_per_number",
	}[sqlite]
}

// dbMessageOr is dbMessage for a constraint's words, else msg itself.
func dbMessageOr(msg string) string {
	if m := dbMessage(msg); m != "" {
		return m
	}
	return msg
}

func TestAtMostOneOpenCallbackTaskPerNumber(t *testing.T) {
	t.Parallel()
	const insert = `INSERT INTO callback_tasks (number, state, lease_token, first_missed_ms, deadline_ms, created_ms) VALUES `
	tests := []struct {
		name     string
		seed     []string
		second   string
		wantKind hotline.ErrorKind // "" when the second task is allowed
	}{
		{"second pending task", []string{insert + `('139', 'pending', NULL, 1, 2, 1)`},
			insert + `('139', 'pending', NULL, 3, 4, 3)`, hotline.KindConflict},
		{"pending beside dialing", []string{insert + `('139', 'dialing', 'lease-1', 1, 2, 1)`},
			insert + `('139', 'pending', NULL, 3, 4, 3)`, hotline.KindConflict},
		{"open beside closed ones", []string{
			insert + `('139', 'connected', NULL, 1, 2, 1)`,
			insert + `('139', 'unreachable', NULL, 1, 2, 1)`,
		}, insert + `('139', 'pending', NULL, 3, 4, 3)`, ""},
		{"another number", []string{insert + `('139', 'pending', NULL, 1, 2, 1)`},
			insert + `('138', 'pending', NULL, 3, 4, 3)`, ""},
		{"reopening a closed task while another is open", []string{
			insert + `('139', 'pending', NULL, 1, 2, 1)`,
			insert + `('139', 'closed', NULL, 1, 2, 1)`,
		}, `UPDATE callback_tasks SET state = 'pending' WHERE state = 'closed'`, hotline.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.exec(t, tt.seed...))

			err := f.exec(t, tt.second)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, dbMessage("callback_tasks.number"))
		})
	}
}

func TestAtMostOneActiveCallbackAttemptPerTask(t *testing.T) {
	t.Parallel()
	const insert = `INSERT INTO callback_attempts (task_id, started_ms, ended_ms) VALUES `
	tests := []struct {
		name     string
		seed     []string
		second   string
		wantKind hotline.ErrorKind // "" when the second attempt is allowed
	}{
		{"second active attempt", []string{insert + `(1, 10, 0)`}, insert + `(1, 20, 0)`, hotline.KindConflict},
		{"after the first ended", []string{insert + `(1, 10, 15)`}, insert + `(1, 20, 0)`, ""},
		{"active on another task", []string{insert + `(1, 10, 0)`}, insert + `(2, 20, 0)`, ""},
		{"reactivating an ended attempt", []string{insert + `(1, 10, 15)`, insert + `(1, 20, 0)`},
			`UPDATE callback_attempts SET ended_ms = 0 WHERE ended_ms = 15`, hotline.KindConflict},
		{"an unknown task", nil, insert + `(99, 20, 0)`, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.exec(t,
				`INSERT INTO callback_tasks (id, number, state, first_missed_ms, deadline_ms, created_ms) VALUES (1, '139', 'pending', 1, 2, 1)`,
				`INSERT INTO callback_tasks (id, number, state, first_missed_ms, deadline_ms, created_ms) VALUES (2, '138', 'pending', 1, 2, 1)`,
			))
			require.NoError(t, f.exec(t, tt.seed...))

			err := f.exec(t, tt.second)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
		})
	}
}

// The CHECK constraints keep the enumerations in step with the domain.
func TestSchemaChecksRefuseBadRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statement string
	}{
		{"agent role", `INSERT INTO agents (id, name, endpoint, role, state, created_ms, updated_ms) VALUES ('x', 'X', 'PJSIP/x', 'boss', 'available', 1, 1)`},
		{"agent skills not a JSON array", `INSERT INTO agents (id, name, endpoint, role, state, skills, created_ms, updated_ms) VALUES ('x', 'X', 'PJSIP/x', 'agent', 'available', '"pension"', 1, 1)`},
		{"call state", `INSERT INTO calls (id, line, state, arrived_ms, updated_ms) VALUES ('x', 'hotline', 'lost', 1, 1)`},
		{"missed reason", `INSERT INTO calls (id, line, state, missed_reason, arrived_ms, updated_ms) VALUES ('x', 'hotline', 'missed', 'bored', 1, 1)`},
		{"a time as text (STRICT)", `INSERT INTO calls (id, line, state, arrived_ms, updated_ms) VALUES ('x', 'hotline', 'ringing', 'yesterday', 1)`},
		{"callback state", `INSERT INTO callback_tasks (number, state, first_missed_ms, deadline_ms, created_ms) VALUES ('139', 'forgotten', 1, 2, 1)`},
		{"dialing without a lease", `INSERT INTO callback_tasks (number, state, first_missed_ms, deadline_ms, created_ms) VALUES ('139', 'dialing', 1, 2, 1)`},
		{"promise state", `INSERT INTO promises (call_id, agent_id, summary, state, deadline_ms, original_deadline_ms, created_ms) VALUES ('c1', 'a1', 'reply', 'maybe', 2, 2, 1)`},
		{"recording state", `INSERT INTO recordings (name, call_id, state, format, started_ms) VALUES ('r1', 'c1', 'lost', 'wav', 1)`},
		{"rating above 5", `INSERT INTO ratings (call_id, agent_id, score, rated_ms) VALUES ('c1', 'a1', 6, 1)`},
		{"review score above 100", `INSERT INTO reviews (call_id, agent_id, supervisor_id, score, created_ms) VALUES ('c1', 'a1', 'a1', 101, 1)`},
		{"referral to nobody", `INSERT INTO referrals (call_id, from_agent, requested_ms) VALUES ('c1', 'a1', 1)`},
		{"rating of an unknown call", `INSERT INTO ratings (call_id, agent_id, score, rated_ms) VALUES ('nope', 'a1', 5, 1)`},
		// Checked by triggers (00002): SQLite cannot add a CHECK to a table.
		{"referral outcome", `INSERT INTO referrals (call_id, from_agent, to_department, requested_ms, outcome) VALUES ('c1', 'a1', 'tax', 1, 'lost')`},
		{"referral with the column's default outcome", `INSERT INTO referrals (call_id, from_agent, to_department, requested_ms) VALUES ('c1', 'a1', 'tax', 1)`},
		{"voicemail name NULL", `INSERT INTO calls (id, line, state, voicemail_name, arrived_ms, updated_ms) VALUES ('x', 'hotline', 'missed', NULL, 1, 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "139", t0)))

			err := f.exec(t, tt.statement)
			require.Equal(t, hotline.KindInvalid, hotline.KindOf(err), "%v", err)
		})
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.exec(t,
		`INSERT INTO audit_log (at_ms, actor, action, object, result, prev_hash, hash) VALUES (1, 's1', 'recording.listen', 'r1', 'ok', '', 'h1')`,
		`INSERT INTO audit_log (at_ms, actor, action, object, result, prev_hash, hash) VALUES (2, 's1', 'recording.listen', 'r2', 'ok', 'h1', 'h2')`,
	))

	for _, statement := range []string{
		`UPDATE audit_log SET result = 'denied' WHERE id = 1`,
		`DELETE FROM audit_log WHERE id = 2`,
	} {
		err := f.exec(t, statement)
		require.Equal(t, hotline.KindConflict, hotline.KindOf(err), "%v", err)
		require.ErrorContains(t, err, "append-only")
	}
	var rows int
	require.NoError(t, f.db.reader.GetContext(f.ctx, &rows, `SELECT count(*) FROM audit_log WHERE result = 'ok'`))
	require.Equal(t, 2, rows)
}

// The triggers of 00002 stand in for a CHECK on referrals.outcome: every
// outcome of the domain passes, anything else is invalid on insert and on
// update, and updates of other columns are not checked.
func TestReferralOutcomeIsChecked(t *testing.T) {
	t.Parallel()
	const insert = `INSERT INTO referrals (id, call_id, from_agent, to_department, requested_ms, outcome) VALUES `
	tests := []struct {
		name      string
		statement string
		wantKind  hotline.ErrorKind // "" when allowed
	}{
		{"insert ringing", insert + `(2, 'c1', 'a1', 'tax', 1, 'ringing')`, ""},
		{"insert answered", insert + `(2, 'c1', 'a1', 'tax', 1, 'answered')`, ""},
		{"insert handover", insert + `(2, 'c1', 'a1', 'tax', 1, 'handover')`, ""},
		{"insert cancelled", insert + `(2, 'c1', 'a1', 'tax', 1, 'cancelled')`, ""},
		{"insert in capitals", insert + `(2, 'c1', 'a1', 'tax', 1, 'RINGING')`, hotline.KindInvalid},
		{"update to another outcome", `UPDATE referrals SET outcome = 'handover' WHERE id = 1`, ""},
		{"update to an unknown outcome", `UPDATE referrals SET outcome = 'lost' WHERE id = 1`, hotline.KindInvalid},
		{"update to ''", `UPDATE referrals SET outcome = '' WHERE id = 1`, hotline.KindInvalid},
		{"update of another column", `UPDATE referrals SET ended_ms = 5 WHERE id = 1`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "139", t0)))
			require.NoError(t, f.exec(t, insert+`(1, 'c1', 'a1', 'tax', 1, 'ringing')`))

			err := f.exec(t, tt.statement)
			if tt.wantKind == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "CHECK constraint failed: referrals.outcome")
			var outcome string
			require.NoError(t, f.db.reader.GetContext(f.ctx, &outcome, `SELECT outcome FROM referrals WHERE id = 1`))
			require.Equal(t, "ringing", outcome, "unchanged")
		})
	}
}

// The statements that run on every inbound call, and the supervisor's
// statistics, read through an index and never scan a whole table.
func TestStatementsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	f := setup(t)
	tests := []struct {
		name  string
		query string
		args  []any
		index string
	}{
		{"ResponsibleAgent: promises", openPromiseAgentSQL, []any{citizen}, "promises_by_number"},
		{"ResponsibleAgent: callback tasks", openCallbackAgentSQL, []any{citizen}, "callback_tasks_one_open_per_number"},
		{"ResponsibleAgent: calls", recentCallAgentSQL, []any{citizen, 1}, "calls_by_caller"},
		{"ResponsibleAgent: callbacks", recentCallbackAgentSQL, []any{citizen, 1}, "callback_tasks_by_number"},
		{"AgentCallStats", agentCallStatsSQL, []any{1}, "call_legs_by_rung"},
		{"referrals of a call", callReferralsSQL, []any{"c1"}, "referrals_by_call"},
		{"rating of a call", callRatingSQL, []any{"c1"}, "sqlite_autoindex_ratings_1"},
		// Promises (00005).
		{"GetPromise: promise", getPromiseSQL, []any{1}, "INTEGER PRIMARY KEY"},
		{"GetPromise: extensions", promiseExtensionsSQL, []any{1}, "promise_extensions_by_promise"},
		{"GetPromise: reminders", promiseRemindersSQL, []any{1}, "COVERING INDEX sqlite_autoindex_promise_reminders_1"},
		{"CreatePromise: the call", promiseCallSQL, []any{"c1"}, "sqlite_autoindex_calls_1"},
		// Staff (00007): every API request looks up its session or token.
		{"SessionUser", sessionUserSQL, []any{"h", 1, 1}, "sqlite_autoindex_sessions_1"},
		{"TokenUser", tokenUserSQL, []any{"h", 1}, "sqlite_autoindex_api_tokens_1"},
		{"ListPromises by state", fmt.Sprintf(listPromisesSQL, "TRUE AND state = ?"), []any{"open", 10, 0}, "promises_by_state"},
		{"ListPromises by agent", fmt.Sprintf(listPromisesSQL, "TRUE AND agent_id = ?"), []any{"a1", 10, 0}, "promises_by_agent_deadline"},
		{"ListPromises by number", fmt.Sprintf(listPromisesSQL, "TRUE AND number = ?"), []any{citizen, 10, 0}, "promises_by_number"},
		{"ListPromises overdue", fmt.Sprintf(listPromisesSQL, "TRUE AND state IN ('open', 'escalated') AND deadline_ms <= ?"),
			[]any{1, 10, 0}, "promises_by_state"},
		{"ExtendPromise", extendPromiseSQL, []any{2, 1, 1}, "INTEGER PRIMARY KEY"},
		{"the deadline trigger's extension", `SELECT 1 FROM promise_extensions WHERE promise_id = ? AND from_ms = ? AND to_ms = ?`,
			[]any{1, 1, 2}, "promise_extensions_by_promise"},
		{"ExtendPromise: clear reminders", clearRemindersSQL, []any{1}, "sqlite_autoindex_promise_reminders_1"},
		{"FulfilPromise", fulfilPromiseSQL, []any{1, "note", "a1", "n", 1}, "INTEGER PRIMARY KEY"},
		{"ClosePromise", closePromiseSQL, []any{1, "r", "s1", 1}, "INTEGER PRIMARY KEY"},
		{"GetPromises", Promises.table().byIDSQL, []any{"[1,2]"}, "INTEGER PRIMARY KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var plan []struct {
				ID      int    `db:"id"`
				Parent  int    `db:"parent"`
				NotUsed int    `db:"notused"`
				Detail  string `db:"detail"`
			}
			require.NoError(t, f.db.reader.SelectContext(f.ctx, &plan, "EXPLAIN QUERY PLAN "+tt.query, tt.args...))
			var details []string
			for _, step := range plan {
				details = append(details, step.Detail)
			}
			require.NotEmpty(t, details)
			require.Contains(t, details[0], "SEARCH", "%q", details)
			require.Contains(t, details[0], tt.index, "%q", details)
			for _, d := range details {
				if !strings.HasPrefix(d, "SCAN json_each VIRTUAL TABLE") { // the ids asked for
					require.NotContains(t, d, "SCAN", "%q", details)
				}
			}
		})
	}
	// The promise list without a filter walks one index in its order, and
	// the reply-call evidence check searches primary keys.
	require.Equal(t, []string{"SCAN promises USING INDEX promises_by_deadline"},
		f.planSteps(t, fmt.Sprintf(listPromisesSQL, "TRUE"), 10, 0))
	for _, step := range f.planSteps(t, replyEvidenceSQL, "c1") {
		require.True(t, !strings.HasPrefix(step, "SCAN") || step == "SCAN CONSTANT ROW", "%q", step)
	}
}
