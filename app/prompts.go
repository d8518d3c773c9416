package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"hotline/ari"
)

// DefaultPromptsDir is where `hotline demo` looks for the sound files made
// by scripts/gen-prompts.sh when -prompts is not given.
const DefaultPromptsDir = "data/prompts"

// ReadSoundDurations reads DIR/durations.tsv written by
// scripts/gen-prompts.sh: one "sound<TAB>seconds" line per sound file
// ("sound:hotline/greeting	5.63"). The fake Asterisk plays each prompt
// that long.
func ReadSoundDurations(dir string) (map[string]time.Duration, error) {
	path := filepath.Join(dir, "durations.tsv")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w (make it with scripts/gen-prompts.sh %s)", err, dir)
	}
	defer f.Close()
	return ari.ParseSoundDurations(f, path)
}

// demoSoundDurations returns the prompt lengths the demo's fake Asterisk
// plays and where they come from: those of dir (an error when it has none),
// else those of DefaultPromptsDir when it exists, else the lengths
// scripts/gen-prompts.sh gives the prompts (ari.PromptLengths), so the
// demo's calls take as long as real ones.
func demoSoundDurations(dir string) (map[string]time.Duration, string, error) {
	if dir == "" {
		if _, err := os.Stat(filepath.Join(DefaultPromptsDir, "durations.tsv")); errors.Is(err, fs.ErrNotExist) {
			return ari.PromptLengths(), "the lengths of scripts/gen-prompts.sh's sounds (ari/prompt-lengths.tsv)", nil
		}
		dir = DefaultPromptsDir
	}
	d, err := ReadSoundDurations(dir)
	return d, dir, err
}
