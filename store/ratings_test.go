package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

func testRating(agent string, score hotline.Satisfaction, at time.Time) hotline.Rating {
	return hotline.Rating{CallID: "c1", AgentID: agent, Score: score, RatedAt: at}
}

// One rating per call: a second save replaces only a first "not rated" (0)
// of the same agent.
func TestSaveRatingReplaceRules(t *testing.T) {
	t.Parallel()
	first := t0.Add(time.Minute)
	second := t0.Add(2 * time.Minute)
	tests := []struct {
		name     string
		first    hotline.Rating
		second   hotline.Rating
		wantKind hotline.ErrorKind // of the second save
		want     hotline.Rating    // stored afterwards
	}{
		{"not rated, then rated", testRating("a1", 0, first), testRating("a1", hotline.VerySatisfied, second), "",
			testRating("a1", hotline.VerySatisfied, second)},
		{"not rated twice", testRating("a1", 0, first), testRating("a1", 0, second), "",
			testRating("a1", 0, second)},
		{"rated, then rated again", testRating("a1", hotline.Satisfied, first), testRating("a1", hotline.VeryDissatisfied, second),
			hotline.KindConflict, testRating("a1", hotline.Satisfied, first)},
		{"rated, then not rated", testRating("a1", hotline.Dissatisfied, first), testRating("a1", 0, second),
			hotline.KindConflict, testRating("a1", hotline.Dissatisfied, first)},
		{"the same rating again", testRating("a1", hotline.Satisfied, first), testRating("a1", hotline.Satisfied, first),
			hotline.KindConflict, testRating("a1", hotline.Satisfied, first)},
		{"not rated, then rated for another agent", testRating("a1", 0, first), testRating("a2", hotline.Satisfied, second),
			hotline.KindConflict, testRating("a1", 0, first)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			require.NoError(t, f.db.CreateCall(f.ctx, answered(t, testCall("c1", "1", t0), "a1", t0)))
			require.NoError(t, f.db.SaveRating(f.ctx, tt.first))

			err := f.db.SaveRating(f.ctx, tt.second)
			if tt.wantKind == "" {
				require.NoError(t, err)
			} else {
				require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
				require.ErrorContains(t, err, "store.SaveRating")
			}
			call, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, &tt.want, call.Rating)
		})
	}
}

func TestSaveRatingRefuses(t *testing.T) {
	t.Parallel()
	valid := testRating("a1", hotline.Satisfied, t0)
	with := func(change func(*hotline.Rating)) hotline.Rating {
		r := valid
		change(&r)
		return r
	}
	tests := []struct {
		name     string
		rating   hotline.Rating
		wantKind hotline.ErrorKind
	}{
		{"score below 0", with(func(r *hotline.Rating) { r.Score = -1 }), hotline.KindInvalid},
		{"score above 5", with(func(r *hotline.Rating) { r.Score = 6 }), hotline.KindInvalid},
		{"unknown agent", with(func(r *hotline.Rating) { r.AgentID = "nobody" }), hotline.KindInvalid},
		{"unknown call", with(func(r *hotline.Rating) { r.CallID = "nope" }), hotline.KindInvalid},
		{"no call", with(func(r *hotline.Rating) { r.CallID = "" }), hotline.KindInvalid},
		{"no agent", with(func(r *hotline.Rating) { r.AgentID = "" }), hotline.KindInvalid},
		{"no rating time", with(func(r *hotline.Rating) { r.RatedAt = time.Time{} }), hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "1", t0)))

			err := f.db.SaveRating(f.ctx, tt.rating)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.SaveRating")
			call, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Nil(t, call.Rating, "nothing stored")
		})
	}
}

// Every score of the scale, and 0, round-trips through GetCall.
func TestSaveRatingEveryScore(t *testing.T) {
	t.Parallel()
	for score := hotline.Satisfaction(0); score <= hotline.VeryDissatisfied; score++ {
		t.Run(score.String(), func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1")
			require.NoError(t, f.db.CreateCall(f.ctx, answered(t, testCall("c1", "1", t0), "a1", t0)))
			rating := testRating("a1", score, t0.Add(time.Minute))
			require.NoError(t, f.db.SaveRating(f.ctx, rating))

			call, err := f.db.GetCall(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, &rating, call.Rating)
		})
	}
}
