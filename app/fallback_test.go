package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/ari/aritest"
	"hotline/store"
)

// Calls that arrive while no service is connected run the dialplan's
// fallback, which writes them to AstDB; the service imports them on start
// as missed calls with callback tasks, exactly once even when an entry is
// read again (a crash between the import and its DB_DELETE).
func TestCallsWhileTheServiceIsDownBecomeMissedCallsWithTasks(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond, VoicemailMax: 300 * time.Millisecond})
	callers := []string{"13800138000", "13900139000"}
	var keys []string
	for i, caller := range callers {
		// The first hangs up during the apology, the second leaves a message.
		id, err := fake.PlaceCall(aritest.InboundCall{Caller: caller, HangupAfter: time.Duration(1-i) * 10 * time.Millisecond})
		require.ErrorIs(t, err, aritest.ErrStasisFailed)
		keys = append(keys, id)
	}
	require.Eventually(t, func() bool { return len(fake.Channels()) == 0 }, 10*time.Second, 10*time.Millisecond)
	entries := fake.AstDB()
	require.Len(t, entries, 2)

	b := startService(t, testConfig(t, fake.ARIURL()))
	ctx := context.Background()
	imported := func() []hotline.Call {
		calls, err := b.svc.DB.ListCalls(ctx, store.CallFilter{State: hotline.CallMissed})
		require.NoError(t, err)
		return calls
	}
	require.Eventually(t, func() bool { return len(fake.AstDB()) == 0 }, 10*time.Second, 10*time.Millisecond, "imported, then deleted")
	check := func() {
		t.Helper()
		calls := imported()
		require.Len(t, calls, 2)
		byCaller := map[string]hotline.Call{}
		for _, c := range calls {
			byCaller[c.CallerNumber] = c
		}
		for i, caller := range callers {
			c := byCaller[caller]
			require.Equal(t, "fb-"+keys[i], c.ID)
			require.Equal(t, keys[i], c.ChannelID)
			require.Equal(t, hotline.MissedServiceDown, c.MissedReason)
		}
		tasks, err := b.svc.DB.ListTasks(ctx, store.TaskFilter{})
		require.NoError(t, err)
		require.Len(t, tasks, 2, "one callback task per citizen")
		for _, task := range tasks {
			full, err := b.svc.DB.GetTask(ctx, task.ID)
			require.NoError(t, err)
			require.Len(t, full.CallIDs, 1)
			require.True(t, strings.HasPrefix(full.CallIDs[0], "fb-"))
		}
	}
	check()

	// The same entries again, as if the service died before deleting them.
	for k, v := range entries {
		req, err := http.NewRequest(http.MethodPost, fake.ARIURL()+"/asterisk/variable?"+
			url.Values{"variable": {fmt.Sprintf("DB(%s)", k)}, "value": {v}}.Encode(), nil)
		require.NoError(t, err)
		req.SetBasicAuth("hotline", "hotline")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	require.Len(t, fake.AstDB(), 2)
	require.Eventually(t, func() bool { return len(fake.AstDB()) == 0 }, 10*time.Second, 10*time.Millisecond, "read again and deleted")
	check()
}

// A citizen who leaves a voice message in the fallback is one call: the
// AstDB entry's import stores the missed call with the message as its
// voice message, archived and linked to it, and one callback task; the
// mailbox's own pass leaves the message to it (no second, vm-… row).
func TestFallbackCallWithAVoiceMessageIsOneCall(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	fake := aritest.NewTest(t, aritest.Options{DefaultSoundDuration: 20 * time.Millisecond, VoicemailDir: spool, VoicemailMax: 1500 * time.Millisecond})
	key, err := fake.PlaceCall(aritest.InboundCall{Caller: "13800138000"}) // talks until the mailbox's maximum
	require.ErrorIs(t, err, aritest.ErrStasisFailed)
	require.Eventually(t, func() bool { return len(fake.Channels()) == 0 }, 10*time.Second, 10*time.Millisecond)
	require.Len(t, fake.VoiceMessages(), 1)
	require.NotEmpty(t, strings.Split(fake.AstDB()[aritest.FallbackFamily+"/"+key], "|")[2], "the entry names the message")

	cfg := testConfig(t, fake.ARIURL())
	cfg.Recordings.VoicemailDir = filepath.Join(spool, "hotline", "hotline")
	cfg.Recordings.PollInterval = 50 * time.Millisecond
	b := startService(t, cfg)
	ctx := context.Background()
	require.Eventually(t, func() bool { return len(fake.AstDB()) == 0 && len(fake.VoiceMessages()) == 0 }, 10*time.Second, 10*time.Millisecond,
		"the entry and the message are imported")

	calls, err := b.svc.DB.ListCalls(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, calls, 1, "one citizen call, one row")
	c, err := b.svc.DB.GetCall(ctx, calls[0].ID)
	require.NoError(t, err)
	require.Equal(t, "fb-"+key, c.ID)
	require.Equal(t, hotline.MissedServiceDown, c.MissedReason)
	require.True(t, strings.HasPrefix(c.VoicemailName, "vm-"), "the call carries its voice message: %+v", c)
	requireArchived(t, b, c.VoicemailName)
	rec, err := b.svc.DB.GetRecording(ctx, c.VoicemailName)
	require.NoError(t, err)
	require.Equal(t, c.ID, rec.CallID, "the message is the call's recording")

	tasks, err := b.svc.DB.ListTasks(ctx, store.TaskFilter{})
	require.NoError(t, err)
	require.Len(t, tasks, 1, "one callback task")
	full, err := b.svc.DB.GetTask(ctx, tasks[0].ID)
	require.NoError(t, err)
	require.Equal(t, []string{c.ID}, full.CallIDs)
}
