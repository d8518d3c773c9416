package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// A call answered by a1 is referred twice; the chain comes back with the
// call in the order it was requested, and a1 stays responsible.
func TestReferralsRoundTripThroughGetCall(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedAgents(t, "a1", "a2", "a3")
	call := answered(t, testCall("c1", "13900000001", t0), "a1", t0.Add(5*time.Second))
	require.NoError(t, f.db.CreateCall(f.ctx, call))

	// Stored out of order: the chain is ordered by request time, not id.
	toTax := hotline.Referral{CallID: "c1", FromAgent: "a1", ToDepartment: "tax", RequestedAt: t0.Add(3 * time.Minute)}
	toA2 := hotline.Referral{CallID: "c1", FromAgent: "a1", ToAgent: "a2", Outcome: hotline.ReferralRinging, RequestedAt: t0.Add(time.Minute)}
	var err error
	toTax.ID, err = f.db.AddReferral(f.ctx, toTax)
	require.NoError(t, err)
	toA2.ID, err = f.db.AddReferral(f.ctx, toA2)
	require.NoError(t, err)
	require.Positive(t, toTax.ID)
	require.NotEqual(t, toTax.ID, toA2.ID)
	toTax.Outcome = hotline.ReferralRinging // an empty outcome is stored as ringing

	got, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []hotline.Referral{toA2, toTax}, got.Referrals)

	// a2 does not answer and owes a handover; a3 answers for the department.
	toA2.Outcome, toA2.EndedAt = hotline.ReferralHandover, t0.Add(90*time.Second)
	require.NoError(t, f.db.UpdateReferral(f.ctx, toA2))
	toTax.ToAgent, toTax.Outcome = "a3", hotline.ReferralAnswered
	require.NoError(t, f.db.UpdateReferral(f.ctx, toTax))
	// A later update without the agent keeps the one chosen.
	ended := toTax
	ended.ToAgent, ended.EndedAt = "", t0.Add(10*time.Minute)
	require.NoError(t, f.db.UpdateReferral(f.ctx, ended))
	toTax.EndedAt = ended.EndedAt

	want := call
	want.Referrals = []hotline.Referral{toA2, toTax}
	got, err = f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, "a1", got.FirstResponsibleAgent)

	listed, err := f.db.ListReferrals(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, want.Referrals, listed)
}

func TestListReferralsOfACallWithoutAny(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "13900000001", t0)))
	for _, id := range []string{"c1", "nope"} {
		got, err := f.db.ListReferrals(f.ctx, id)
		require.NoError(t, err)
		require.Empty(t, got)
	}
	call, err := f.db.GetCall(f.ctx, "c1")
	require.NoError(t, err)
	require.Nil(t, call.Referrals)
}

func TestAddReferralRefuses(t *testing.T) {
	t.Parallel()
	valid := hotline.Referral{CallID: "c1", FromAgent: "a1", ToAgent: "a2", RequestedAt: t0}
	with := func(change func(*hotline.Referral)) hotline.Referral {
		r := valid
		change(&r)
		return r
	}
	tests := []struct {
		name     string
		referral hotline.Referral
		wantKind hotline.ErrorKind
	}{
		{"no call", with(func(r *hotline.Referral) { r.CallID = "" }), hotline.KindInvalid},
		{"no referring agent", with(func(r *hotline.Referral) { r.FromAgent = "" }), hotline.KindInvalid},
		{"no target", with(func(r *hotline.Referral) { r.ToAgent, r.ToDepartment = "", " " }), hotline.KindInvalid},
		{"no request time", with(func(r *hotline.Referral) { r.RequestedAt = time.Time{} }), hotline.KindInvalid},
		{"unknown outcome", with(func(r *hotline.Referral) { r.Outcome = "lost" }), hotline.KindInvalid},
		{"unknown call", with(func(r *hotline.Referral) { r.CallID = "nope" }), hotline.KindInvalid},
		{"unknown referring agent", with(func(r *hotline.Referral) { r.FromAgent = "nobody" }), hotline.KindInvalid},
		{"unknown target agent", with(func(r *hotline.Referral) { r.ToAgent = "nobody" }), hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "1", t0)))

			_, err := f.db.AddReferral(f.ctx, tt.referral)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.AddReferral")
			got, err := f.db.ListReferrals(f.ctx, "c1")
			require.NoError(t, err)
			require.Empty(t, got, "nothing stored")
		})
	}
}

func TestUpdateReferralRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		change   func(*hotline.Referral)
		wantKind hotline.ErrorKind
	}{
		{"unknown id", func(r *hotline.Referral) { r.ID = 999 }, hotline.KindNotFound},
		{"unknown outcome", func(r *hotline.Referral) { r.Outcome = "lost" }, hotline.KindInvalid},
		{"no outcome", func(r *hotline.Referral) { r.Outcome = "" }, hotline.KindInvalid},
		{"unknown target agent", func(r *hotline.Referral) { r.ToAgent = "nobody" }, hotline.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedAgents(t, "a1", "a2")
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c1", "1", t0)))
			stored := hotline.Referral{CallID: "c1", FromAgent: "a1", ToAgent: "a2", Outcome: hotline.ReferralRinging, RequestedAt: t0}
			var err error
			stored.ID, err = f.db.AddReferral(f.ctx, stored)
			require.NoError(t, err)

			update := stored
			update.Outcome, update.EndedAt = hotline.ReferralAnswered, t0.Add(time.Minute)
			tt.change(&update)
			err = f.db.UpdateReferral(f.ctx, update)
			require.Equal(t, tt.wantKind, hotline.KindOf(err), "%v", err)
			require.ErrorContains(t, err, "store.UpdateReferral")
			got, err := f.db.ListReferrals(f.ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, []hotline.Referral{stored}, got, "unchanged")
		})
	}
}
