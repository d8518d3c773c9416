package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline/ari"
	"hotline/ari/aritest"
)

func writeCheckConfig(t *testing.T, ariURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hotline.yaml")
	yaml := "ari:\n  url: " + ariURL + "\n  password: hotline\n  connect_timeout: 2s\n" +
		"calls:\n  complaint_numbers: [\"12340\"]\n" +
		"agents:\n" +
		"  - {id: \"1001\", name: 张伟, endpoint: PJSIP/1001}\n" +
		"  - {id: \"1005\", name: 李娜, endpoint: PJSIP/1005}\n" +
		"  - {id: \"2001\", name: 赵敏, endpoint: PJSIP/2001, role: supervisor}\n"
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

func TestCheckConfigOnly(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	path := writeCheckConfig(t, "http://127.0.0.1:1/ari")
	require.NoError(t, CheckConfig(context.Background(), CheckOptions{ConfigPath: path, Out: &out}))
	require.Contains(t, out.String(), "config OK: "+path+": agents 3 (supervisors 1), hotline 12345, complaint 12340")

}

// installedPrompts lists the default prompts' sounds, less missing.
func installedPrompts(missing ...string) []string {
	var out []string
	for _, p := range promptList(ari.DefaultPrompts) {
		if !slices.Contains(missing, p.Sound) {
			out = append(out, p.Sound)
		}
	}
	return out
}

// TestCheckConfigAsterisk: the fake lists sounds as Asterisk indexes them,
// sounds/hotline/greeting.wav as id "greeting" in language "hotline".
func TestCheckConfigAsterisk(t *testing.T) {
	t.Parallel()
	fake := aritest.NewTest(t, aritest.Options{Sounds: installedPrompts("sound:hotline/greeting", "sound:hotline/survey")})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{})
	fake.SetEndpoint("PJSIP/2001", aritest.Behavior{Offline: true}) // known but not registered: exists
	fake.SetTrunkDefault("trunk", aritest.Behavior{})
	path := writeCheckConfig(t, fake.ARIURL())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := CheckConfig(ctx, CheckOptions{ConfigPath: path, Asterisk: true, Out: &out})
	require.ErrorIs(t, err, ErrCheckFailed)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5, out.String())
	require.Contains(t, lines[0], "config OK: ")
	require.Contains(t, lines[1], "asterisk OK: "+fake.ARIURL())
	require.Equal(t, "endpoint PJSIP/1005 missing", lines[2])
	require.Equal(t, "sound hotline/greeting missing (calls.prompts.greeting)", lines[3])
	require.Equal(t, "sound hotline/survey missing (calls.prompts.survey)", lines[4])

	// Everything present: no problem lines. The prompts under a language
	// folder (sounds/en/hotline/…) count too.
	var underEnglish []string
	for _, s := range installedPrompts() {
		underEnglish = append(underEnglish, "sound:en/"+strings.TrimPrefix(s, "sound:"))
	}
	ok := aritest.NewTest(t, aritest.Options{Sounds: underEnglish})
	for _, ep := range []string{"PJSIP/1001", "PJSIP/1005", "PJSIP/2001"} {
		ok.SetEndpoint(ep, aritest.Behavior{})
	}
	ok.SetTrunkDefault("trunk", aritest.Behavior{})
	out.Reset()
	require.NoError(t, CheckConfig(ctx, CheckOptions{ConfigPath: writeCheckConfig(t, ok.ARIURL()), Asterisk: true, Out: &out}))
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 2, out.String())
}

func TestCheckConfigAsteriskUnreachableOrRefused(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := CheckConfig(context.Background(), CheckOptions{ConfigPath: writeCheckConfig(t, "http://127.0.0.1:1/ari"), Asterisk: true, Out: &out})
	require.ErrorIs(t, err, ErrCheckFailed)
	require.Contains(t, out.String(), "ARI at http://127.0.0.1:1/ari does not answer")

	fake := aritest.NewTest(t, aritest.Options{Password: "other"})
	out.Reset()
	err = CheckConfig(context.Background(), CheckOptions{ConfigPath: writeCheckConfig(t, fake.ARIURL()), Asterisk: true, Out: &out})
	require.ErrorIs(t, err, ErrCheckFailed)
	require.Contains(t, out.String(), `refuses user "hotline"`)
}
