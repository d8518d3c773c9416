package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"hotline/ari"
)

// CheckOptions are the flags of `hotline check-config`.
type CheckOptions struct {
	ConfigPath string
	// Asterisk also connects to ARI and looks for what the config names:
	// the agents' endpoints, the trunk and every prompt's sound.
	Asterisk bool
	Out      io.Writer // "config OK: …", then one line per problem
}

// ErrCheckFailed is returned when check-config found problems; they have
// been printed one per line.
var ErrCheckFailed = errors.New("check failed")

// CheckConfig validates the config file with the service's own loader and
// prints a summary. With Asterisk set it asks ARI (with the configured URL,
// user, password and ari.connect_timeout per request) for
// GET /asterisk/info, GET /endpoints/{tech}/{resource} of every agent and
// of the trunk, and GET /sounds for every prompt (checkSounds), and prints
// each missing piece on its own line ("endpoint PJSIP/1005 missing",
// "sound hotline/greeting missing (calls.prompts.greeting)").
func CheckConfig(ctx context.Context, opts CheckOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	supervisors := 0
	for _, a := range cfg.Agents {
		if a.Role == "supervisor" {
			supervisors++
		}
	}
	fmt.Fprintf(out, "config OK: %s: agents %d (supervisors %d), hotline %s, complaint %s, ARI %s as %s, application %s\n",
		opts.ConfigPath, len(cfg.Agents), supervisors, listOrNone(cfg.Calls.HotlineNumbers),
		listOrNone(cfg.Calls.ComplaintNumbers), cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Application)
	if !opts.Asterisk {
		return nil
	}
	problems, err := checkAsterisk(ctx, cfg, out)
	if err != nil {
		fmt.Fprintln(out, err)
		return ErrCheckFailed
	}
	for _, p := range problems {
		fmt.Fprintln(out, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %d problems", ErrCheckFailed, len(problems))
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// checkAsterisk returns the missing pieces; err means ARI itself cannot be
// used (unreachable, credentials refused), so nothing else was checked.
func checkAsterisk(ctx context.Context, cfg Config, out io.Writer) ([]string, error) {
	client := &http.Client{Timeout: cfg.ARI.ConnectTimeout}
	base := strings.TrimRight(cfg.ARI.URL, "/")
	get := func(path string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.SetBasicAuth(cfg.ARI.Username, cfg.ARI.Password)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, body, err
	}

	status, body, err := get("/asterisk/info")
	switch {
	case err != nil:
		return nil, fmt.Errorf("ARI at %s does not answer: %v", cfg.ARI.URL, err)
	case status == http.StatusUnauthorized:
		return nil, fmt.Errorf("ARI at %s refuses user %q: check ari.conf and %s", cfg.ARI.URL, cfg.ARI.Username, EnvARIPassword)
	case status != http.StatusOK:
		return nil, fmt.Errorf("ARI at %s: GET /asterisk/info answered %d", cfg.ARI.URL, status)
	}
	var info struct {
		System struct {
			Version  string `json:"version"`
			EntityID string `json:"entity_id"`
		} `json:"system"`
	}
	_ = json.Unmarshal(body, &info)
	fmt.Fprintf(out, "asterisk OK: %s answers as %q (version %s); application %s reachable\n",
		cfg.ARI.URL, cfg.ARI.Username, info.System.Version, cfg.ARI.Application)

	var problems []string
	lookup := func(what, path, name string) {
		status, _, err := get(path)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %s not checked: %v", what, name, err))
		case status == http.StatusNotFound:
			problems = append(problems, fmt.Sprintf("%s %s missing", what, name))
		case status != http.StatusOK:
			problems = append(problems, fmt.Sprintf("%s %s: ARI answered %d", what, name, status))
		}
	}
	endpoints := make([]string, 0, len(cfg.Agents)+1)
	for _, a := range cfg.Agents {
		endpoints = append(endpoints, a.Endpoint)
	}
	if trunk := trunkEndpoint(cfg.Dialer); trunk != "" {
		endpoints = append(endpoints, trunk)
	}
	for _, ep := range endpoints {
		tech, res, ok := strings.Cut(ep, "/")
		if !ok {
			problems = append(problems, fmt.Sprintf("endpoint %s is not TECH/RESOURCE", ep))
			continue
		}
		lookup("endpoint", "/endpoints/"+url.PathEscape(tech)+"/"+url.PathEscape(res), ep)
	}
	problems = append(problems, checkSounds(get, cfg.Calls.Prompts)...)
	return problems, nil
}

// checkSounds looks up every prompt's sound in GET /sounds, which lists
// the sounds the way Asterisk indexes its sounds folder: the first folder
// of a file's path is its language, the rest its id. So the file of
// sound:hotline/greeting, sounds/hotline/greeting.wav, is id "greeting" in
// language "hotline" (and GET /sounds/hotline/greeting is 404); under a
// language folder, sounds/en/hotline/greeting.wav, it is id
// "hotline/greeting". Either counts as installed.
func checkSounds(get func(path string) (int, []byte, error), prompts ari.Prompts) []string {
	status, body, err := get("/sounds")
	var listed []struct {
		ID      string `json:"id"`
		Formats []struct {
			Language string `json:"language"`
		} `json:"formats"`
	}
	switch {
	case err != nil:
		return []string{fmt.Sprintf("sounds not checked: %v", err)}
	case status != http.StatusOK:
		return []string{fmt.Sprintf("sounds not checked: GET /sounds answered %d", status)}
	case json.Unmarshal(body, &listed) != nil:
		return []string{"sounds not checked: GET /sounds answered no list of sounds"}
	}
	installed := map[string]bool{} // "language/id" and "id"
	for _, snd := range listed {
		installed[snd.ID] = true
		for _, f := range snd.Formats {
			installed[f.Language+"/"+snd.ID] = true
		}
	}
	var problems []string
	for _, p := range promptList(prompts) {
		name, isSound := strings.CutPrefix(p.Sound, "sound:")
		if !isSound {
			continue // recording:, tone: and the like are not files of the sound folder
		}
		if !installed[name] {
			problems = append(problems, fmt.Sprintf("sound %s missing (calls.prompts.%s)", name, p.Key))
		}
	}
	return problems
}

// trunkEndpoint turns dialer.trunk "PJSIP/%s@trunk" into the endpoint
// "PJSIP/trunk"; "" when the dial string names no endpoint after '@'.
func trunkEndpoint(d ari.DialerConfig) string {
	tech, rest, ok := strings.Cut(d.Trunk, "/")
	if !ok {
		return ""
	}
	_, name, ok := strings.Cut(rest, "@")
	if !ok || name == "" || strings.Contains(name, "%") {
		return ""
	}
	return tech + "/" + name
}

// namedPrompt is one prompt with its calls.prompts key.
type namedPrompt struct {
	Key string
	ari.Prompt
}

// promptList lists the prompts in declaration order with their YAML keys.
func promptList(p ari.Prompts) []namedPrompt {
	v := reflect.ValueOf(p)
	out := make([]namedPrompt, 0, v.NumField())
	for i := 0; i < v.NumField(); i++ {
		pr, ok := v.Field(i).Interface().(ari.Prompt)
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		out = append(out, namedPrompt{Key: key, Prompt: pr})
	}
	return out
}
