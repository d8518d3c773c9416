package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// seedPartyWorld writes calls over three days with legs to four agents:
// legs rung a few seconds after arrival, some an hour or a day later, one
// before its call arrived, calls with two legs of one agent, calls another
// agent answered after a leg of the first, and ratings.
func seedPartyWorld(t *testing.T, f fixture) {
	t.Helper()
	agents := []string{"a1", "a2", "a3", "a4"}
	f.seedAgents(t, agents...)
	rng := rand.New(rand.NewPCG(3, 5))
	l, err := f.db.NewLoader(f.ctx, 100)
	require.NoError(t, err)
	for i := range 600 {
		arrived := t0.Add(time.Duration(rng.IntN(3*24*3600)) * time.Second)
		if i%50 == 0 {
			arrived = t0.Add(time.Duration(i) * time.Minute) // some arrive at the same time as others
		}
		c := testCall(fmt.Sprintf("c%03d", i), fmt.Sprintf("1390000%04d", rng.IntN(40)), arrived.UTC())
		for n := range rng.IntN(4) {
			lag := time.Duration(1+rng.IntN(30)) * time.Second
			switch rng.IntN(40) {
			case 0:
				lag = time.Hour + time.Duration(rng.IntN(3600))*time.Second
			case 1:
				lag = 26 * time.Hour
			case 2:
				lag = -2 * time.Second
			}
			rung := arrived.Add(lag)
			c.Legs = append(c.Legs, hotline.CallLeg{CallID: c.ID, AgentID: agents[rng.IntN(len(agents))],
				ChannelID: fmt.Sprintf("%s-%d", c.ID, n), Outcome: hotline.LegNoAnswer, RungAt: rung.UTC(), EndedAt: rung.Add(20 * time.Second).UTC()})
		}
		switch x := rng.IntN(10); {
		case x < 6:
			agent := agents[rng.IntN(len(agents))]
			answered := arrived.Add(40 * time.Second)
			c.Legs = append(c.Legs, hotline.CallLeg{CallID: c.ID, AgentID: agent, ChannelID: c.ID + "-won", Outcome: hotline.LegAnswered,
				RungAt: arrived.Add(30 * time.Second).UTC(), AnsweredAt: answered.UTC()})
			require.NoError(t, c.Answer(agent, answered.UTC()))
			if x < 4 {
				c.End(answered.Add(time.Minute).UTC(), "")
				c.Legs[len(c.Legs)-1].Outcome, c.Legs[len(c.Legs)-1].EndedAt = hotline.LegCompleted, c.EndedAt
				if x < 2 {
					c.Rating = &hotline.Rating{CallID: c.ID, AgentID: agent, Score: hotline.Satisfied, RatedAt: c.EndedAt}
				}
			}
		case x < 9:
			c.End(arrived.Add(time.Minute).UTC(), hotline.MissedNoAnswer)
		}
		require.NoError(t, l.Call(c))
	}
	require.NoError(t, l.Close())
}

// An agent's own calls read through the agent's indexes are the same
// pages, in the same order, as the call-by-call search gives, whatever
// the other filters, the page size, the offset and the cursor.
func TestListPartyCallsAsCallByCall(t *testing.T) {
	t.Parallel()
	f := setup(t)
	seedPartyWorld(t, f)
	yes, no := true, false
	day := 24 * time.Hour
	tests := []struct {
		name   string
		filter CallFilter
	}{
		{"everything", CallFilter{}},
		{"a day", CallFilter{Since: t0.Add(day), Until: t0.Add(2 * day)}},
		{"an hour", CallFilter{Since: t0.Add(30 * time.Hour), Until: t0.Add(31 * time.Hour)}},
		{"since", CallFilter{Since: t0.Add(50 * time.Hour)}},
		{"until", CallFilter{Until: t0.Add(20 * time.Hour)}},
		{"small pages", CallFilter{Since: t0, Until: t0.Add(3 * day), Limit: 7}},
		{"an offset", CallFilter{Since: t0.Add(day), Until: t0.Add(3 * day), Limit: 10, Offset: 25}},
		{"past the end", CallFilter{Limit: 10, Offset: 1000}},
		{"missed", CallFilter{Outcome: hotline.OutcomeMissed, Limit: 20}},
		{"completed", CallFilter{State: hotline.CallCompleted, Limit: 20}},
		{"in progress", CallFilter{Outcome: hotline.OutcomeInProgress, Limit: 20}},
		{"rated", CallFilter{Rated: &yes, Limit: 15}},
		{"not rated", CallFilter{Rated: &no, Since: t0.Add(day), Limit: 15}},
		{"a line", CallFilter{Line: hotline.LineHotline, Limit: 30}},
		{"a whole page", CallFilter{Limit: MaxListLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, agent := range []string{"a1", "a2", "a3", "a4", "nobody"} {
				cf := tt.filter
				cf.Party = agent
				// The first page and up to five more through the cursor.
				for page := 0; page < 6; page++ {
					want, err := f.db.listCalls(f.ctx, cf, false)
					require.NoError(t, err)
					got, err := f.db.ListCalls(f.ctx, cf)
					require.NoError(t, err)
					require.Equal(t, callIDs(want), callIDs(got), "%s, page %d", agent, page)
					require.Equal(t, want, got)
					if len(got) == 0 || cf.Offset > 0 {
						break
					}
					cf.After = hotline.CursorAfter(got[len(got)-1])
				}
			}
		})
	}
}

// call_leg_lag holds the bounds of every leg's lag behind its call's
// arrival, as the triggers widen it: legs inserted, a leg moved, a call's
// arrival moved.
func TestCallLegLagBoundsEveryLeg(t *testing.T) {
	t.Parallel()
	f := setup(t)
	seedPartyWorld(t, f)
	bounds := func() [2]int64 {
		var b struct {
			Min int64 `db:"min_ms"`
			Max int64 `db:"max_ms"`
		}
		require.NoError(t, f.db.reader.GetContext(f.ctx, &b, callLegLagSQL))
		return [2]int64{b.Min, b.Max}
	}
	legs := func() [2]int64 {
		var b struct {
			Min int64 `db:"lo"`
			Max int64 `db:"hi"`
		}
		require.NoError(t, f.db.reader.GetContext(f.ctx, &b,
			`SELECT min(l.rung_ms - c.arrived_ms) AS lo, max(l.rung_ms - c.arrived_ms) AS hi FROM call_legs AS l JOIN calls AS c ON c.id = l.call_id`))
		return [2]int64{b.Min, b.Max}
	}
	require.Equal(t, [2]int64{-2000, (26 * time.Hour).Milliseconds()}, legs(), "the seeded world's lags")
	require.Equal(t, legs(), bounds(), "kept as the legs were inserted")

	require.NoError(t, f.exec(t, `UPDATE call_legs SET rung_ms = rung_ms + 100000000 WHERE id = (SELECT min(id) FROM call_legs)`))
	require.Equal(t, legs(), bounds(), "a leg rung later")
	require.NoError(t, f.exec(t, `UPDATE calls SET arrived_ms = arrived_ms + 200000000 WHERE id = (SELECT call_id FROM call_legs WHERE id = (SELECT max(id) FROM call_legs))`))
	require.Equal(t, legs(), bounds(), "a call arrived later")
}
