package ari

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"

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
