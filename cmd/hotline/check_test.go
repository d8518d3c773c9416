package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/ari"
	"hotline/ari/aritest"
)

func TestCheckConfigCommand(t *testing.T) {
	t.Parallel()
	var installed []string // every prompt's sound but the survey's
	for sound := range ari.PromptLengths() {
		if sound != "sound:hotline/survey" {
			installed = append(installed, sound)
		}
	}
	fake := aritest.NewTest(t, aritest.Options{Sounds: installed})
	fake.SetEndpoint("PJSIP/1001", aritest.Behavior{})
	fake.SetTrunkDefault("trunk", aritest.Behavior{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hotline.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("ari:\n  url: "+fake.ARIURL()+"\n  password: hotline\n"+
		"agents:\n  - {id: \"1001\", name: 张伟, endpoint: PJSIP/1001}\n  - {id: \"1002\", name: 王芳, endpoint: PJSIP/1002}\n"), 0o600))

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"check-config", "-config", cfg}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "config OK: ")

	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 1, run([]string{"check-config", "-config", cfg, "-asterisk"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "\nendpoint PJSIP/1002 missing\n")
	require.Contains(t, stdout.String(), "\nsound hotline/survey missing (calls.prompts.survey)\n")
	require.Contains(t, stderr.String(), "hotline: check failed: 2 problems")

	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 1, run([]string{"check-config", "-config", filepath.Join(dir, "none.yaml")}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "no such file or directory")
}
