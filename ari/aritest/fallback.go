package aritest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The dialplan fallback of configs/asterisk/extensions.conf: when Stasis()
// finds no websocket for the application it returns at once with
// STASISSTATUS=FAILED, and the dialplan answers, plays the apology and runs
// VoiceMail(hotline@hotline,s): a beep, then the caller's message until
// they hang up, press #, or the mailbox's maximum length passes. A message
// shorter than the mailbox's minimum is thrown away, as app_voicemail
// does. Messages are stored as app_voicemail stores them:
// VoicemailDir/<context>/<mailbox>/INBOX/msgNNNN.wav and msgNNNN.txt.
const (
	// FallbackPrompt is what the fallback plays before the voice message.
	FallbackPrompt = "sound:hotline/apology"
	// FallbackMailbox is the mailbox of VoiceMail() in the fallback:
	// mailbox "hotline" in voicemail.conf context "hotline".
	FallbackMailbox = "hotline@hotline"
	// fallbackExten is where the dialplan's fallback runs (for the .txt).
	fallbackExten = "fallback"
)

// ErrStasisFailed is returned by PlaceCall when no websocket is connected
// for the application: the call ran the dialplan's fallback instead.
var ErrStasisFailed = errors.New("aritest: Stasis() failed (STASISSTATUS=FAILED)")

// Voicemail defaults, as in configs/asterisk/voicemail.conf.
const (
	defaultVoicemailMax = 60 * time.Second
	defaultVoicemailMin = time.Second
)

// voicemail is a message being left on an inbound channel.
type voicemail struct {
	started time.Time
	tone    int
}

// fallback runs the dialplan's fallback on an inbound channel that
// Stasis() refused. Callers hold s.mu.
func (s *Server) fallback(c *channel) {
	s.recordFallback(c, "")
	c.answeredAt = s.now()
	c.state = stateUp
	apology, _ := s.mediaDuration(FallbackPrompt)
	beep, _ := s.mediaDuration("sound:beep")
	s.channelTimer(c, max(apology, 0)+max(beep, 0), func() {
		c.voicemail = &voicemail{started: time.Now(), tone: c.tone}
		s.channelTimer(c, s.voicemailMax(), func() { s.endVoicemail(c, true) })
	})
}

func (s *Server) voicemailMax() time.Duration {
	if s.opts.VoicemailMax > 0 {
		return s.opts.VoicemailMax
	}
	return defaultVoicemailMax
}

// endVoicemail saves the message being left on c, if any; hangup says the
// dialplan hangs up afterwards (the maximum length passed, or # was
// pressed). Callers hold s.mu.
func (s *Server) endVoicemail(c *channel, hangup bool) {
	vm := c.voicemail
	if vm == nil {
		return
	}
	c.voicemail = nil
	length := min(time.Since(vm.started), s.voicemailMax())
	if length >= defaultVoicemailMin {
		if err := s.saveVoicemail(c, vm, length); err != nil {
			s.log.Error("aritest: save voice message", "err", err)
		}
	}
	if hangup {
		s.hangup(c, true, causeNormal)
	}
}

// nextMessageNumber is the number of the next message in the inbox dir:
// one past the highest there, as app_voicemail numbers them. The inbox is
// read once; after that the fake counts on, only checking that the number
// is free (the service may have taken messages away meanwhile, which
// app_voicemail would fill from the top again: the numbers differ, not the
// messages). Reading the inbox for each message made saving one cost as
// much as the messages waiting, under the server's lock: with a few
// thousand calls in the fallback the fake stopped answering.
// Callers hold s.mu.
func (s *Server) nextMessageNumber(dir string) int {
	if s.seq.nextMsg < 0 {
		s.seq.nextMsg = 0
		entries, _ := os.ReadDir(dir) // a missing or unreadable inbox holds no messages
		for _, e := range entries {
			var n int
			if _, err := fmt.Sscanf(e.Name(), "msg%04d.txt", &n); err == nil && n >= s.seq.nextMsg {
				s.seq.nextMsg = n + 1
			}
		}
	}
	for {
		n := s.seq.nextMsg
		s.seq.nextMsg++
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("msg%04d.txt", n))); errors.Is(err, os.ErrNotExist) {
			return n
		}
	}
}

// VoiceMessage is one message left in a mailbox through the fallback.
type VoiceMessage struct {
	Mailbox  string        `json:"mailbox"`  // "hotline@hotline"
	Path     string        `json:"path"`     // the .wav file; the .txt sits beside it
	CallerID string        `json:"callerid"` // as app_voicemail writes it: "Name" <number>
	Channel  string        `json:"channel"`  // the caller's channel name (callerchan)
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration"`
}

func (s *Server) inboxDir() string {
	mailbox, context, _ := strings.Cut(FallbackMailbox, "@")
	return filepath.Join(s.voicemailDir(), context, mailbox, "INBOX")
}

func (s *Server) voicemailDir() string {
	if s.opts.VoicemailDir != "" {
		return s.opts.VoicemailDir
	}
	return filepath.Join(s.recDir, "voicemail")
}

// saveVoicemail writes msgNNNN.wav and msgNNNN.txt, numbered after the
// messages already in the inbox.
func (s *Server) saveVoicemail(c *channel, vm *voicemail, length time.Duration) error {
	dir := s.inboxDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("msg%04d", s.nextMessageNumber(dir)))
	if err := writeWAV(base+".wav", length, []segment{{tones: []int{vm.tone}}}); err != nil {
		return err
	}
	if c.placed != nil {
		c.placed.Voicemail = base + ".wav"
	}
	s.recordFallback(c, base) // the h extension, with VM_MESSAGEFILE
	mailbox, _, _ := strings.Cut(FallbackMailbox, "@")
	at := s.now()
	txt := fmt.Sprintf(`;
; Message Information file
;
[message]
origmailbox=%s
context=%s
macrocontext=
exten=%s
rdnis=unknown
priority=5
callerchan=%s
callerid=%q <%s>
origdate=%s
origtime=%d
category=
msg_id=%d-%d
flag=
duration=%d
`, mailbox, c.dialplan.Context, fallbackExten, c.name, c.caller.Name, c.caller.Number,
		at.UTC().Format("Mon Jan _2 03:04:05 PM MST 2006"), at.Unix(), at.Unix(), s.seq.voicemail, int(length/time.Second))
	s.seq.voicemail++ // app_voicemail's msg_id: the time and a counter of its own
	return os.WriteFile(base+".txt", []byte(txt), 0o644)
}

// VoiceMessages lists the messages in the fallback mailbox's inbox, oldest
// first.
func (s *Server) VoiceMessages() []VoiceMessage {
	s.mu.Lock()
	dir := s.inboxDir()
	s.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(dir, "msg*.txt"))
	sort.Strings(files)
	out := []VoiceMessage{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		m := VoiceMessage{Mailbox: FallbackMailbox, Path: strings.TrimSuffix(f, ".txt") + ".wav"}
		for _, line := range strings.Split(string(raw), "\n") {
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "callerid":
				m.CallerID = v
			case "callerchan":
				m.Channel = v
			case "origtime":
				var sec int64
				fmt.Sscan(v, &sec)
				m.At = time.Unix(sec, 0)
			case "duration":
				var sec int64
				fmt.Sscan(v, &sec)
				m.Duration = time.Duration(sec) * time.Second
			}
		}
		if st, err := os.Stat(m.Path); err == nil {
			m.Duration = wavDuration(st.Size())
		}
		out = append(out, m)
	}
	return slices.Clip(out)
}

// continueChannel serves POST /channels/{id}/continue: the channel leaves
// Stasis (StasisEnd) and goes on in the dialplan. An inbound call sent to
// the fallback extension (a service that drains before it stops sends new
// calls there) runs the fallback like a call Stasis() refused; the fake's
// dialplan has nothing anywhere else, so the channel hangs up.
func (s *Server) continueChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	if !c.inStasis {
		return errMsg(http.StatusConflict, "Channel not in Stasis application").reply()
	}
	for _, p := range slices.Clone(c.playbacks) {
		s.finishPlayback(p, "done")
	}
	if c.bridge != nil {
		s.leaveBridge(c, false)
	}
	c.inStasis = false
	toFallback := c.kind == kindInbound && q.str("extension") == fallbackExten
	if t := s.timingOf(c.id); t != nil && toFallback {
		t.Fallback = true
	}
	s.emitStasis("StasisEnd", c)
	s.forgetChannel(c.id)
	if toFallback {
		c.app, c.args = "", nil
		if c.state != stateUp {
			s.answered(c, false)
		}
		s.fallback(c)
		return noContent()
	}
	s.hangup(c, true, causeNormal)
	return noContent()
}
