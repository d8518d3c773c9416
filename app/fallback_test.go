package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
