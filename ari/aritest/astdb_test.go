package aritest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/stretchr/testify/require"
)

// A call that finds no application leaves an AstDB entry, read and
// deleted over ARI as the service does it after a restart.
func TestFallbackCallsAreRecordedInAstDB(t *testing.T) {
	t.Parallel()
	f := setup(t, Options{DefaultSoundDuration: 10 * time.Millisecond, VoicemailMax: 1200 * time.Millisecond})
	vars := f.client.Asterisk().Variables()
	get := func(name string) string {
		t.Helper()
		v, err := vars.Get(ari.NewKey(ari.VariableKey, name))
		require.NoError(t, err)
		return v
	}
	require.Empty(t, get("DB_KEYS("+FallbackFamily+")"))

	// "elsewhere" has no websocket: the call runs the fallback.
	id, err := f.srv.PlaceCall(InboundCall{Caller: "13800138000", App: "elsewhere"})
	require.ErrorIs(t, err, ErrStasisFailed)
	require.Equal(t, id, get("DB_KEYS("+FallbackFamily+")"))
	caller, at, file := splitEntry(t, get(fmt.Sprintf("DB(%s/%s)", FallbackFamily, id)))
	require.Equal(t, "13800138000", caller)
	require.InDelta(t, time.Now().Unix(), at, 5)
	require.Empty(t, file, "no message yet")

	// The mailbox's maximum passes: the message is named in the entry.
	require.Eventually(t, func() bool {
		_, _, file = splitEntry(t, get(fmt.Sprintf("DB(%s/%s)", FallbackFamily, id)))
		return file != ""
	}, 10*time.Second, 20*time.Millisecond)
	require.FileExists(t, file+".wav")

	// A second call, then both read and deleted.
	id2, err := f.srv.PlaceCall(InboundCall{Caller: "anonymous", App: "elsewhere"})
	require.ErrorIs(t, err, ErrStasisFailed)
	require.ElementsMatch(t, []string{id, id2}, strings.Split(get("DB_KEYS("+FallbackFamily+")"), ","))
	require.Contains(t, get(fmt.Sprintf("DB_DELETE(%s/%s)", FallbackFamily, id)), "13800138000|")
	require.Empty(t, get(fmt.Sprintf("DB_DELETE(%s/%s)", FallbackFamily, id)), "deleted")
	require.Equal(t, id2, get("DB_KEYS("+FallbackFamily+")"))
	require.Equal(t, "1", get(fmt.Sprintf("DB_EXISTS(%s/%s)", FallbackFamily, id2)))

	// AstDB is on disk: a restart keeps it. Global variables work too.
	f.srv.Restart()
	require.Len(t, f.srv.AstDB(), 1)
	require.NoError(t, vars.Set(ari.NewKey(ari.VariableKey, "HOTLINE_X"), "7"))
	require.Equal(t, "7", get("HOTLINE_X"))
	_, err = vars.Get(ari.NewKey(ari.VariableKey, "SHELL(ls)"))
	require.Error(t, err, "the fake evaluates only the AstDB functions")
}

func splitEntry(t *testing.T, v string) (caller string, at int64, file string) {
	t.Helper()
	parts := strings.Split(v, "|")
	require.Len(t, parts, 3, "entry %q", v)
	_, err := fmt.Sscan(parts[1], &at)
	require.NoError(t, err)
	return parts[0], at, parts[2]
}
