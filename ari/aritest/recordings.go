package aritest

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// liveRecording records a bridge or a channel. It keeps a timeline of who
// was heard when, and renders it to a WAV file when it stops.
type liveRecording struct {
	name, format string
	target       string // "bridge:ID" or "channel:ID"
	br           *bridge
	ch           *channel
	recorderName string // the recorder's channel name in BRIDGEPEER
	started      time.Time
	timeline     []segment
	maxTimer     *time.Timer
	// A bridge's recorder quits by itself once its bridge has carried no
	// audio for Options.RecorderIdleTimeout: idleTimer runs meanwhile,
	// and the file ends where the audio did (silentAt).
	idleTimer  *time.Timer
	silentAt   time.Duration
	hadMembers bool // someone was in the bridge while it recorded
}

func (r *liveRecording) json(state string) liveRecordingJSON {
	return liveRecordingJSON{Name: r.name, Format: r.format, State: state, TargetURI: r.target}
}

// mark notes that from now on the recording hears these tones.
func (r *liveRecording) mark(tones []int) {
	r.timeline = append(r.timeline, segment{at: time.Since(r.started), tones: tones})
}

// markRecordings updates the timeline of every recording on b, and of the
// snoops on its members.
func (s *Server) markRecordings(b *bridge) {
	tones := make([]int, len(b.members))
	for i, c := range b.members {
		tones[i] = c.tone
	}
	for _, r := range b.recorders {
		r.mark(tones)
	}
	for _, c := range b.members {
		s.markSnoops(c)
	}
}

// markSnoops updates the recordings of c's snoop channels. A snoop that
// spies both ways hears c and whatever c hears: the other members of its
// bridge.
func (s *Server) markSnoops(c *channel) {
	for _, sn := range c.snoops {
		if sn.recording != nil && !sn.gone {
			sn.recording.mark(s.heardBy(c))
		}
	}
}

// heardBy is what a snoop on c hears.
func (s *Server) heardBy(c *channel) []int {
	tones := []int{c.tone}
	if b := c.bridge; b != nil {
		for _, m := range b.members {
			if m != c {
				tones = append(tones, m.tone)
			}
		}
	}
	return tones
}

// bridgeAudioChanged runs whenever what b carries may have changed:
// members came or went, a playback started or ended on b or on a member.
// As on Asterisk 20 (traces 13 and 16), a bridge recording ends when the
// last party leaves, and ends by itself ("No audio available on
// Recorder/…") once the bridge has carried no audio for
// RecorderIdleTimeout, e.g. while a prompt plays to its only member's
// channel rather than to the bridge. A later stop of it finds nothing (404).
// Callers hold s.mu.
func (s *Server) bridgeAudioChanged(b *bridge) {
	for _, r := range slices.Clone(b.recorders) {
		if len(b.members) > 0 {
			r.hadMembers = true
		}
		switch {
		case len(b.members) == 0 && r.hadMembers:
			s.finishRecording(r, "done")
		case b.carriesAudio():
			s.cancel(r.idleTimer)
			r.idleTimer = nil
		case r.idleTimer == nil:
			r.silentAt = time.Since(r.started)
			r.idleTimer = s.after(s.recorderIdle(), func() {
				r.idleTimer = nil
				s.log.Warn("aritest: No audio available on "+strings.TrimSuffix(r.recorderName, ";2")+";1; recording ends", "recording", r.name)
				s.finishRecordingAt(r, "done", r.silentAt)
			})
		}
	}
}

func (s *Server) recorderIdle() time.Duration {
	if s.opts.RecorderIdleTimeout > 0 {
		return s.opts.RecorderIdleTimeout
	}
	return defaultRecorderIdle
}

// defaultRecorderIdle is how long Asterisk 20's bridge recorder waited
// without audio before it quit (trace 13: 4 s into a channel playback).
const defaultRecorderIdle = 4 * time.Second

// carriesAudio reports whether b's recorder hears anything: a playback on
// the bridge, or a member not held out of it by a playback on its own
// channel. Music on hold does not hold a channel out.
func (b *bridge) carriesAudio() bool {
	if len(b.playbacks) > 0 {
		return true
	}
	for _, m := range b.members {
		if len(m.playbacks) == 0 {
			return true
		}
	}
	return false
}

func (s *Server) recordingApps(r *liveRecording) []*app { return s.appsFor(r.ch, r.br, nil) }

func (s *Server) recordBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	return s.startRecording(q, &liveRecording{target: "bridge:" + b.id, br: b})
}

func (s *Server) recordChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	if c.recording != nil {
		return errMsg(http.StatusConflict, "Channel is already being recorded").reply()
	}
	return s.startRecording(q, &liveRecording{target: "channel:" + c.id, ch: c})
}

// startRecording starts a live recording: 201 with state queued and
// RecordingStarted at once. On a bridge the recorder joins as a member
// even when the name then turns out to be taken (trace 11).
func (s *Server) startRecording(q *request, r *liveRecording) reply {
	r.name, r.format = q.str("name"), q.str("format")
	switch {
	case r.name == "":
		return errMsg(http.StatusBadRequest, "Missing parameter name").reply()
	case strings.ContainsAny(r.name, `/\`) || strings.HasPrefix(r.name, "."):
		return errMsg(http.StatusBadRequest, "Recording name must be a plain file name").reply()
	case r.format == "":
		return errMsg(http.StatusBadRequest, "Missing parameter format").reply()
	case r.format != "wav":
		return errMsg(http.StatusUnprocessableEntity, "specified format is unknown on this system").reply()
	}
	ifExists := q.str("ifExists")
	if ifExists == "" {
		ifExists = "fail"
	}
	if !slices.Contains([]string{"fail", "overwrite", "append"}, ifExists) {
		return errMsg(http.StatusBadRequest, "ifExists must be fail, overwrite or append").reply()
	}
	b := r.br
	if b != nil {
		r.recorderName = fmt.Sprintf("Recorder/ARI-%08x;2", s.seq.recorder)
		s.seq.recorder++
		b.recorders = append(b.recorders, r)
		s.peersChanged(b, nil)
	}
	conflict := errMsg(http.StatusConflict, fmt.Sprintf("Recording '%s' already exists and can not be overwritten", r.name)).reply()
	if _, live := s.live[r.name]; live {
		if b != nil {
			s.detachRecorder(r, true)
		}
		return conflict
	}
	if _, stored := s.stored[r.name]; stored && ifExists == "fail" {
		if b != nil {
			s.detachRecorder(r, false)
		}
		return conflict
	}
	r.started = time.Now()
	s.live[r.name] = r
	if b != nil {
		b.tech = b.technology()
		s.markRecordings(b)
	} else {
		r.ch.recording = r
		if t := r.ch.snoopOf; t != nil {
			r.mark(s.heardBy(t))
		} else {
			r.mark([]int{r.ch.tone})
		}
	}
	if max := q.int("maxDurationSeconds", 0); max > 0 {
		r.maxTimer = s.after(time.Duration(max)*time.Second, func() { s.finishRecording(r, "done") })
	}
	s.emit(event{typ: "RecordingStarted", post: []field{{"recording", r.json("recording")}}}, s.recordingApps(r))
	if b != nil {
		s.bridgeAudioChanged(b)
	}
	return reply{
		status: http.StatusCreated,
		body:   r.json("queued"),
		model:  "LiveRecording",
		header: map[string]string{"Location": "/ari/recordings/live/" + r.name},
	}
}

// detachRecorder takes a recorder out of its bridge; settle updates the
// members' BRIDGEPEER.
func (s *Server) detachRecorder(r *liveRecording, settle bool) {
	b := r.br
	b.recorders = slices.DeleteFunc(b.recorders, func(x *liveRecording) bool { return x == r })
	b.tech = b.technology()
	if settle {
		s.peersChanged(b, nil)
	}
}

// finishRecording stops a live recording: done stores the audio, canceled
// throws it away. RecordingFinished comes first, then the recorder leaves
// the bridge.
func (s *Server) finishRecording(r *liveRecording, state string) {
	s.finishRecordingAt(r, state, time.Since(r.started))
}

// finishRecordingAt stops a live recording whose audio is length long.
func (s *Server) finishRecordingAt(r *liveRecording, state string, length time.Duration) {
	if s.live[r.name] != r {
		return
	}
	delete(s.live, r.name)
	s.cancel(r.maxTimer)
	s.cancel(r.idleTimer)
	r.idleTimer = nil
	if state == "done" {
		if err := writeWAV(s.recordingPath(r.name), length, r.timeline); err != nil {
			s.log.Error("aritest: store recording", "name", r.name, "err", err)
			state = "failed"
		} else {
			s.stored[r.name] = r.format
		}
	}
	j := r.json(state)
	secs := int(length / time.Second)
	j.Duration = &secs
	typ := "RecordingFinished"
	if state == "failed" {
		typ = "RecordingFailed"
	}
	s.emit(event{typ: typ, post: []field{{"recording", j}}}, s.recordingApps(r))
	if r.br != nil {
		s.detachRecorder(r, true)
	} else {
		r.ch.recording = nil
	}
}

func (s *Server) liveFor(q *request) (*liveRecording, *ariError) {
	r, found := s.live[q.param("name")]
	if !found {
		return nil, errMsg(http.StatusNotFound, "Recording not found")
	}
	return r, nil
}

func (s *Server) getLive(q *request) reply {
	r, err := s.liveFor(q)
	if err != nil {
		return err.reply()
	}
	return ok("LiveRecording", r.json("recording"))
}

func (s *Server) stopLive(q *request) reply {
	r, err := s.liveFor(q)
	if err != nil {
		return err.reply()
	}
	s.finishRecording(r, "done")
	return noContent()
}

func (s *Server) cancelLive(q *request) reply {
	r, err := s.liveFor(q)
	if err != nil {
		return err.reply()
	}
	s.finishRecording(r, "canceled")
	return noContent()
}

func (s *Server) listStored(*request) reply {
	out := []storedRecordingJSON{}
	for _, name := range slices.Sorted(maps.Keys(s.stored)) {
		out = append(out, storedRecordingJSON{Name: name, Format: s.stored[name]})
	}
	return ok("List[StoredRecording]", out)
}

func (s *Server) getStored(q *request) reply {
	name := q.param("name")
	format, found := s.stored[name]
	if !found {
		return errMsg(http.StatusNotFound, "Recording not found").reply()
	}
	return ok("StoredRecording", storedRecordingJSON{Name: name, Format: format})
}

func (s *Server) deleteStored(q *request) reply {
	name := q.param("name")
	if _, found := s.stored[name]; !found {
		return errMsg(http.StatusNotFound, "Recording not found").reply()
	}
	if err := os.Remove(s.recordingPath(name)); err != nil && !os.IsNotExist(err) {
		return errMsg(http.StatusInternalServerError, "Recording could not be deleted").reply()
	}
	delete(s.stored, name)
	return noContent()
}

func (s *Server) getStoredFile(q *request) reply {
	name := q.param("name")
	if _, found := s.stored[name]; !found {
		return errMsg(http.StatusNotFound, "Recording not found").reply()
	}
	audio, err := os.ReadFile(s.recordingPath(name))
	if err != nil {
		return errMsg(http.StatusNotFound, "Recording not found").reply()
	}
	return reply{status: http.StatusOK, raw: audio, header: map[string]string{"Content-Type": "audio/wav"}}
}

func (s *Server) copyStored(q *request) reply {
	name, dest := q.param("name"), q.str("destinationRecordingName")
	format, found := s.stored[name]
	if !found {
		return errMsg(http.StatusNotFound, "Recording not found").reply()
	}
	if dest == "" || strings.ContainsAny(dest, `/\`) || strings.HasPrefix(dest, ".") {
		return errMsg(http.StatusBadRequest, "Missing or invalid parameter destinationRecordingName").reply()
	}
	if _, exists := s.stored[dest]; exists {
		return errMsg(http.StatusConflict, "A recording with the same name already exists on the system").reply()
	}
	if err := copyFile(s.recordingPath(name), s.recordingPath(dest)); err != nil {
		return errMsg(http.StatusInternalServerError, "Recording could not be copied").reply()
	}
	s.stored[dest] = format
	return ok("StoredRecording", storedRecordingJSON{Name: dest, Format: format})
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// StoredRecordings lists the stored recordings by name.
func (s *Server) StoredRecordings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, slices.Sorted(maps.Keys(s.stored))...)
}

// LiveRecordings lists the recordings running now, by name.
func (s *Server) LiveRecordings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.live))
}
