package app

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sound, secs, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("prompts: %s:%d: want sound<TAB>seconds, got %q", path, n, line)
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(secs), 64)
		if err != nil || s <= 0 {
			return nil, fmt.Errorf("prompts: %s:%d: %q is not a positive number of seconds", path, n, secs)
		}
		out[strings.TrimSpace(sound)] = time.Duration(s * float64(time.Second)).Round(time.Millisecond)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prompts: %s lists no sound", path)
	}
	return out, nil
}

// demoSoundDurations returns the prompt lengths the demo's fake Asterisk
// plays: those of dir (an error when it has none), else those of
// DefaultPromptsDir when it exists, else nil (the built-in guesses).
func demoSoundDurations(dir string) (map[string]time.Duration, string, error) {
	if dir == "" {
		if _, err := os.Stat(filepath.Join(DefaultPromptsDir, "durations.tsv")); errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
		dir = DefaultPromptsDir
	}
	d, err := ReadSoundDurations(dir)
	return d, dir, err
}
