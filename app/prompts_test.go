package app

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline/ari"
)

func TestExampleConfigPromptsAreTheEmbeddedOnes(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	require.Equal(t, ari.DefaultPrompts, cfg.Calls.Prompts,
		"configs/hotline.example.yaml calls.prompts must repeat ari/prompts.yaml, the one source of the texts")
}

func TestGenPromptsScript(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"espeak-ng", "sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install espeak-ng sox): scripts/gen-prompts.sh not run", tool)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("../scripts/gen-prompts.sh", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	require.Contains(t, string(msg), "12 prompts written")

	durations, err := ReadSoundDurations(out)
	require.NoError(t, err)
	prompts := promptList(ari.DefaultPrompts)
	require.Len(t, durations, len(prompts))
	for _, p := range prompts {
		d, ok := durations[p.Sound]
		require.True(t, ok, "durations.tsv lacks %s", p.Sound)
		require.Greater(t, d, 500*time.Millisecond, p.Sound)

		path := filepath.Join(out, strings.TrimPrefix(p.Sound, "sound:")+".wav")
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Greater(t, len(data), 44)
		require.Equal(t, "RIFF", string(data[0:4]), path)
		require.Equal(t, "WAVE", string(data[8:12]), path)
		require.Equal(t, "fmt ", string(data[12:16]), path)
		require.Equal(t, uint16(1), binary.LittleEndian.Uint16(data[20:22]), "%s: PCM", path)
		require.Equal(t, uint16(1), binary.LittleEndian.Uint16(data[22:24]), "%s: mono", path)
		require.Equal(t, uint32(8000), binary.LittleEndian.Uint32(data[24:28]), "%s: 8000 Hz", path)
		require.Equal(t, uint16(16), binary.LittleEndian.Uint16(data[34:36]), "%s: 16-bit", path)
		// The length in durations.tsv is the file's: 16000 bytes a second.
		require.InDelta(t, float64(len(data)-44)/16000, d.Seconds(), 0.1, path)
		// The demo plays the committed lengths: they must be the script's.
		require.InDelta(t, d.Seconds(), ari.PromptLengths()[p.Sound].Seconds(), 0.05,
			"%s: ari/prompt-lengths.tsv is out of date; copy %s/durations.tsv there", p.Sound, out)
	}
}

// TestDemoPlaysThePromptLengthsOfGenPrompts: with no sound folder, the
// demo's fake plays the lengths of scripts/gen-prompts.sh's sounds, so the
// demo's calls take as long as real ones (18.5 s of greeting and notice).
func TestDemoPlaysThePromptLengthsOfGenPrompts(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(DefaultPromptsDir, "durations.tsv")); err == nil {
		t.Skip(DefaultPromptsDir + " exists: the demo plays its lengths")
	}
	got, from, err := demoSoundDurations("")
	require.NoError(t, err)
	require.Contains(t, from, "gen-prompts.sh")
	require.Equal(t, ari.PromptLengths(), got)
	for _, p := range promptList(ari.DefaultPrompts) {
		require.Greater(t, got[p.Sound], time.Second, "%s has a length", p.Sound)
	}
	greeting := got["sound:hotline/greeting"] + got["sound:hotline/recording-notice"]
	require.InDelta(t, 18.5, greeting.Seconds(), 0.1)
}

func TestReadSoundDurations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "durations.tsv"),
		[]byte("sound:hotline/greeting\t5.629875\nsound:hotline/apology\t15.7\n"), 0o600))
	d, err := ReadSoundDurations(dir)
	require.NoError(t, err)
	require.Equal(t, map[string]time.Duration{"sound:hotline/greeting": 5630 * time.Millisecond, "sound:hotline/apology": 15700 * time.Millisecond}, d)

	got, src, err := demoSoundDurations(dir)
	require.NoError(t, err)
	require.Equal(t, dir, src)
	require.Equal(t, d, got)

	_, err = ReadSoundDurations(t.TempDir())
	require.ErrorContains(t, err, "scripts/gen-prompts.sh")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "durations.tsv"), []byte("sound:hotline/greeting\t0\n"), 0o600))
	_, err = ReadSoundDurations(dir)
	require.ErrorContains(t, err, "positive number of seconds")
}
