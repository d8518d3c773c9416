package ari

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmbeddedPromptsHaveSoundAndText(t *testing.T) {
	t.Parallel()
	p, err := ParsePrompts(PromptsYAML())
	require.NoError(t, err)
	require.Equal(t, DefaultPrompts, p)
	keys := PromptKeys()
	require.Len(t, keys, 12)
	sounds := map[string]bool{}
	DefaultPrompts.each(func(key string, pr *Prompt) {
		require.True(t, strings.HasPrefix(pr.Sound, "sound:hotline/"), "%s: %q", key, pr.Sound)
		require.NotEmpty(t, strings.TrimSpace(pr.Text), key)
		require.False(t, sounds[pr.Sound], "%s: sound %s used twice", key, pr.Sound)
		sounds[pr.Sound] = true
	})
	require.Equal(t, "您好，欢迎致电政务服务热线。", DefaultPrompts.Greeting.Text)
	require.Equal(t, "sound:hotline/greeting", DefaultPrompts.Greeting.Sound)
}

func TestParsePromptsRejectsGaps(t *testing.T) {
	t.Parallel()
	_, err := ParsePrompts([]byte("greeting:\n  sound: sound:hotline/greeting\n"))
	require.ErrorContains(t, err, "greeting.text")
	_, err = ParsePrompts([]byte("bogus:\n  sound: x\n  text: y\n"))
	require.ErrorContains(t, err, "bogus")
}

func TestEveryPromptHasItsGeneratedLength(t *testing.T) {
	t.Parallel()
	lengths := PromptLengths()
	require.Len(t, lengths, 12, "one length per prompt, nothing else")
	DefaultPrompts.each(func(key string, pr *Prompt) {
		require.Greater(t, lengths[pr.Sound].Seconds(), 1.0, "%s: ari/prompt-lengths.tsv lacks %s", key, pr.Sound)
	})
	_, err := ParseSoundDurations(strings.NewReader("sound:hotline/greeting 5.6\n"), "x.tsv")
	require.ErrorContains(t, err, "x.tsv:1: want sound<TAB>seconds")
}
