package ari

import (
	"fmt"
	"strings"
	"time"

	"hotline"
)

// CallConfig shapes how inbound calls are handled.
type CallConfig struct {
	// HotlineNumbers are the dialed numbers (the dialplan's extension) of the
	// consultation hotline, answered by agents. Default ["12345"]. A call to
	// a number in neither list is treated as a hotline call.
	HotlineNumbers []string `yaml:"hotline_numbers"`
	// ComplaintNumbers are the dialed numbers of the complaint line
	// (7.1.2), answered by supervisors. Default none.
	ComplaintNumbers []string `yaml:"complaint_numbers"`
	// Strategy picks agents: least_recent (default), round_robin or ring_all.
	Strategy hotline.Strategy `yaml:"strategy"`
	// RingTimeout is how long one ringing round lasts before the next agent
	// (or round) is tried. Default 15s.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// MaxWait is how long a citizen waits on hold for an agent before the
	// call is missed (reason no_answer) and owed a callback. It counts from
	// the end of the greeting and recording notice, when the hold music
	// starts and agents are rung: the prompts (about 18 s with the sounds of
	// scripts/gen-prompts.sh) come on top, so a citizen hears a person or
	// the apology at most prompts + MaxWait after dialing. The call record's
	// wait still counts from the arrival. Default 60s.
	MaxWait time.Duration `yaml:"max_wait"`
	// RingsPerAgent is how often one call rings the same agent at most, in
	// rounds of RingTimeout while the citizen waits. An agent who declines
	// is not rung again for that call at all. Default 2.
	RingsPerAgent int `yaml:"rings_per_agent"`
	// AutopauseAfter pauses an agent who declined or let ring out this many
	// rings in a row (an answered call ends the streak): the agent's state
	// becomes paused with the reason, the violation of the last refusal
	// says so (7.1.5), and supervisors get a message. Default 3; -1 never
	// pauses.
	AutopauseAfter int `yaml:"autopause_after"`
	// Sticky rings a repeat caller's responsible agent alone first when the
	// citizen has an open matter: an open promise or callback, or a call in
	// the last StickyDays days (4.1.1 盯办到底). Default true.
	Sticky *bool `yaml:"sticky"`
	// StickyRing is how long the responsible agent rings alone. Default 20s.
	StickyRing time.Duration `yaml:"sticky_ring"`
	// StickyDays is how far back a previous call makes a matter open. Default 7.
	StickyDays int `yaml:"sticky_days"`
	// WrapUp is how long an agent stays in wrap-up after a call before being
	// rung again. Default 10s.
	WrapUp time.Duration `yaml:"wrap_up"`
	// Record says whether every call is recorded, from answer to hangup
	// (7.1.3), through a snoop on the citizen's channel that hears prompts,
	// agents and the survey alike. Switch off only for load tests. Default
	// true.
	Record *bool `yaml:"record"`
	// MOHClass is the music-on-hold class played while agents ring; "" is
	// Asterisk's default class.
	MOHClass string `yaml:"moh_class"`
	// PromptTimeout bounds every prompt: Asterisk never finishes a playback
	// of an unknown media scheme. Default 30s.
	PromptTimeout time.Duration `yaml:"prompt_timeout"`
	// SurveyTimeout is how long the citizen has to press a digit after the
	// survey prompt (7.2). Default 10s.
	SurveyTimeout time.Duration `yaml:"survey_timeout"`
	// VoicemailMax bounds the message a citizen may leave after hours.
	// Default 60s.
	VoicemailMax time.Duration `yaml:"voicemail_max"`
	// ReferralLoopLimit is how often a call may come back to an agent who
	// referred it away before a referral loop (推诿) is recorded against the
	// agent passing it on. Default 2.
	ReferralLoopLimit int `yaml:"referral_loop_limit"`
	// DrainTimeout is how long a stopping service (SIGTERM) lets the calls
	// in progress finish while new calls go to the dialplan's fallback;
	// calls still going then are ended. Default 60s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Fallback is where in the dialplan a draining service sends new
	// calls (POST /channels/{id}/continue): by default the fallback of
	// configs/asterisk/extensions.conf after its STASISSTATUS test
	// (hotline-inbound, fallback, priority 2), which records the call and
	// takes a voice message like any call the service missed.
	Fallback DialplanTarget `yaml:"fallback"`
	// MaxCalls, MaxWaiting and MaxLag are admission control. A service
	// that takes more calls than it can serve fails them all: agents who
	// answered are bridged seconds late, after they hung up. Past any of
	// these bounds a new citizen goes to Fallback at once, as while
	// draining, where the dialplan apologises, takes a voice message and
	// notes the call, which is imported as a missed call owed a callback
	// (6.1). Calls already taken are served as usual.
	//
	// MaxCalls bounds the calls in progress. Default 0: no bound.
	MaxCalls int `yaml:"max_calls"`
	// MaxWaiting bounds the citizens on the line with no agent yet (in
	// the greeting or on hold). Default 0: no bound.
	MaxWaiting int `yaml:"max_waiting"`
	// MaxLag is how far behind the service may fall before it takes no
	// new calls: an event that waited this long for its call's handler
	// (busy with ARI requests and database writes, or starved of CPU).
	// New calls are taken again once a second has passed without such a
	// delay. Default 2s; negative (-1s): never.
	MaxLag time.Duration `yaml:"max_lag"`
	// Prompts are the sounds the citizen hears, each with its Chinese text.
	Prompts Prompts `yaml:"prompts"`
}

// Prompt is one sound played to citizens: an Asterisk media URI and the
// Chinese text it speaks, kept side by side so the sound files can be made
// from the texts.
type Prompt struct {
	Sound string `yaml:"sound"` // e.g. "sound:hotline/greeting"
	Text  string `yaml:"text"`
}

// Prompts are every sound of the call flow.
type Prompts struct {
	Greeting        Prompt `yaml:"greeting"`
	RecordingNotice Prompt `yaml:"recording_notice"`
	AfterHours      Prompt `yaml:"after_hours"`
	Apology         Prompt `yaml:"apology"` // nobody could take the call; we will call back
	Survey          Prompt `yaml:"survey"`
	SurveyInvalid   Prompt `yaml:"survey_invalid"`
	SurveyThanks    Prompt `yaml:"survey_thanks"`
	Complaint       Prompt `yaml:"complaint"`        // greeting of the complaint line
	CallbackApology Prompt `yaml:"callback_apology"` // the citizen hears it before the agent is bridged (6.1)
	CallbackWhisper Prompt `yaml:"callback_whisper"` // the agent hears it before the citizen is dialed
	ReplyGreeting   Prompt `yaml:"reply_greeting"`   // the citizen hears it on a promised reply call (6.2)
	ReplyWhisper    Prompt `yaml:"reply_whisper"`    // the agent hears it before the citizen is dialed for a reply
}

// DefaultPrompts are the prompts' sounds and texts unless configured. They
// come from ari/prompts.yaml (embedded, see prompts.go), the one file that
// holds the Chinese texts; scripts/gen-prompts.sh makes the sounds from it.
var DefaultPrompts = mustEmbeddedPrompts()

// each lists the prompts with their YAML keys, for defaults and validation.
func (p *Prompts) each(fn func(key string, pr *Prompt)) {
	fn("greeting", &p.Greeting)
	fn("recording_notice", &p.RecordingNotice)
	fn("after_hours", &p.AfterHours)
	fn("apology", &p.Apology)
	fn("survey", &p.Survey)
	fn("survey_invalid", &p.SurveyInvalid)
	fn("survey_thanks", &p.SurveyThanks)
	fn("complaint", &p.Complaint)
	fn("callback_apology", &p.CallbackApology)
	fn("callback_whisper", &p.CallbackWhisper)
	fn("reply_greeting", &p.ReplyGreeting)
	fn("reply_whisper", &p.ReplyWhisper)
}

// SetDefaults fills unset fields.
// DialplanTarget is a place in the dialplan.
type DialplanTarget struct {
	Context   string `yaml:"context"`   // default hotline-inbound
	Extension string `yaml:"extension"` // default fallback
	Priority  int    `yaml:"priority"`  // default 2
}

func (c *CallConfig) SetDefaults() {
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 60 * time.Second
	}
	if c.MaxLag == 0 {
		c.MaxLag = 2 * time.Second
	}
	if c.Fallback.Context == "" {
		c.Fallback.Context = "hotline-inbound"
	}
	if c.Fallback.Extension == "" {
		c.Fallback.Extension = "fallback"
	}
	if c.Fallback.Priority == 0 {
		c.Fallback.Priority = 2
	}
	if c.HotlineNumbers == nil {
		c.HotlineNumbers = []string{"12345"}
	}
	if c.Strategy == "" {
		c.Strategy = hotline.LeastRecent
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = 15 * time.Second
	}
	if c.MaxWait == 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.RingsPerAgent == 0 {
		c.RingsPerAgent = 2
	}
	if c.AutopauseAfter == 0 {
		c.AutopauseAfter = 3
	}
	if c.Sticky == nil {
		on := true
		c.Sticky = &on
	}
	if c.StickyRing == 0 {
		c.StickyRing = 20 * time.Second
	}
	if c.StickyDays == 0 {
		c.StickyDays = 7
	}
	if c.WrapUp == 0 {
		c.WrapUp = 10 * time.Second
	}
	if c.Record == nil {
		on := true
		c.Record = &on
	}
	if c.PromptTimeout == 0 {
		c.PromptTimeout = 30 * time.Second
	}
	if c.SurveyTimeout == 0 {
		c.SurveyTimeout = 10 * time.Second
	}
	if c.ReferralLoopLimit == 0 {
		c.ReferralLoopLimit = 2
	}
	if c.VoicemailMax == 0 {
		c.VoicemailMax = 60 * time.Second
	}
	defaults := DefaultPrompts
	c.Prompts.each(func(key string, pr *Prompt) {
		defaults.each(func(dkey string, d *Prompt) {
			if dkey != key {
				return
			}
			if pr.Sound == "" {
				pr.Sound = d.Sound
			}
			if pr.Text == "" {
				pr.Text = d.Text
			}
		})
	})
}

// Validate reports the first bad field, named by its YAML key under "calls.".
func (c CallConfig) Validate() error {
	if c.DrainTimeout < 0 || c.Fallback.Priority < 0 {
		return fmt.Errorf("calls.drain_timeout and calls.fallback.priority must not be negative")
	}
	if c.MaxCalls < 0 || c.MaxWaiting < 0 {
		return fmt.Errorf("calls.max_calls and calls.max_waiting must not be negative (0: no bound)")
	}

	lines := map[string]string{}
	for key, nums := range map[string][]string{"hotline_numbers": c.HotlineNumbers, "complaint_numbers": c.ComplaintNumbers} {
		for i, n := range nums {
			if n == "" || strings.ContainsAny(n, " ,/") {
				return fmt.Errorf("calls.%s[%d]: %q is not a dialed number", key, i, n)
			}
			if other, dup := lines[n]; dup {
				return fmt.Errorf("calls.%s[%d]: %q is also in calls.%s", key, i, n, other)
			}
			lines[n] = key
		}
	}
	var err error
	switch {
	case !c.Strategy.Valid():
		err = fmt.Errorf("calls.strategy: %q must be least_recent, round_robin or ring_all", c.Strategy)
	case c.RingTimeout < 100*time.Millisecond:
		err = fmt.Errorf("calls.ring_timeout: %s is shorter than 100ms", c.RingTimeout)
	case c.MaxWait < c.RingTimeout:
		err = fmt.Errorf("calls.max_wait: %s must not be shorter than calls.ring_timeout (%s)", c.MaxWait, c.RingTimeout)
	case c.RingsPerAgent < 1:
		err = fmt.Errorf("calls.rings_per_agent: must be at least 1")
	case c.AutopauseAfter < -1:
		err = fmt.Errorf("calls.autopause_after: must be -1 (never) or at least 1")
	case c.StickyRing < 0:
		err = fmt.Errorf("calls.sticky_ring: must not be negative")
	case c.StickyDays < 0:
		err = fmt.Errorf("calls.sticky_days: must not be negative")
	case c.WrapUp < 0:
		err = fmt.Errorf("calls.wrap_up: must not be negative")
	case c.PromptTimeout <= 0:
		err = fmt.Errorf("calls.prompt_timeout: must be positive")
	case c.SurveyTimeout <= 0:
		err = fmt.Errorf("calls.survey_timeout: must be positive")
	case c.ReferralLoopLimit < 1:
		err = fmt.Errorf("calls.referral_loop_limit: must be at least 1")
	case c.VoicemailMax < 0:
		err = fmt.Errorf("calls.voicemail_max: must not be negative")
	}
	if err != nil {
		return err
	}
	c.Prompts.each(func(key string, pr *Prompt) {
		if err == nil && !strings.Contains(pr.Sound, ":") {
			err = fmt.Errorf("calls.prompts.%s.sound: %q must be a media URI such as sound:hotline/%s", key, pr.Sound, key)
		}
	})
	return err
}

// lineFor says which line a dialed number belongs to.
func (c CallConfig) lineFor(dialed string) hotline.Line {
	for _, n := range c.ComplaintNumbers {
		if n == dialed {
			return hotline.LineComplaint
		}
	}
	return hotline.LineHotline
}
