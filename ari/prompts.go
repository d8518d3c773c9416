package ari

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// promptsYAML is the one source of the prompts' sounds and Chinese texts;
// scripts/gen-prompts.sh makes the sound files from the same file.
//
//go:embed prompts.yaml
var promptsYAML []byte

// PromptsYAML returns the embedded ari/prompts.yaml.
func PromptsYAML() []byte { return bytes.Clone(promptsYAML) }

// ParsePrompts reads a prompts file (key → sound and text, the keys of
// calls.prompts). Unknown keys, and a prompt without sound or text, are
// errors.
func ParsePrompts(data []byte) (Prompts, error) {
	var p Prompts
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Prompts{}, fmt.Errorf("prompts: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var missing []string
	p.each(func(key string, pr *Prompt) {
		if pr.Sound == "" {
			missing = append(missing, key+".sound")
		}
		if pr.Text == "" {
			missing = append(missing, key+".text")
		}
	})
	if len(missing) > 0 {
		return Prompts{}, fmt.Errorf("prompts: %s missing", strings.Join(missing, ", "))
	}
	return p, nil
}

// PromptKeys lists the prompts' keys (those of calls.prompts) in order.
func PromptKeys() []string {
	var keys []string
	var p Prompts
	p.each(func(key string, _ *Prompt) { keys = append(keys, key) })
	return keys
}

func mustEmbeddedPrompts() Prompts {
	p, err := ParsePrompts(promptsYAML)
	if err != nil {
		panic("ari/prompts.yaml: " + err.Error())
	}
	return p
}

// promptLengths is scripts/gen-prompts.sh's durations.tsv for the texts of
// prompts.yaml: how long each generated sound plays.
//
//go:embed prompt-lengths.tsv
var promptLengths []byte

var defaultPromptLengths = func() map[string]time.Duration {
	d, err := ParseSoundDurations(bytes.NewReader(promptLengths), "ari/prompt-lengths.tsv")
	if err != nil {
		panic(err.Error())
	}
	return d
}()

// PromptLengths returns how long each prompt's sound plays when made by
// scripts/gen-prompts.sh (sound URI → length): what a fake Asterisk
// should play when it has no sound files of its own. The greeting and the
// recording notice take 18.5 s together.
func PromptLengths() map[string]time.Duration { return maps.Clone(defaultPromptLengths) }

// ParseSoundDurations reads a durations.tsv of scripts/gen-prompts.sh: one
// "sound<TAB>seconds" line per sound file ("sound:hotline/greeting	5.63");
// blank lines and lines starting with # are skipped. source names it in
// errors.
func ParseSoundDurations(r io.Reader, source string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sound, secs, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("prompts: %s:%d: want sound<TAB>seconds, got %q", source, n, line)
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(secs), 64)
		if err != nil || s <= 0 {
			return nil, fmt.Errorf("prompts: %s:%d: %q is not a positive number of seconds", source, n, secs)
		}
		out[strings.TrimSpace(sound)] = time.Duration(s * float64(time.Second)).Round(time.Millisecond)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", source, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prompts: %s lists no sound", source)
	}
	return out, nil
}
