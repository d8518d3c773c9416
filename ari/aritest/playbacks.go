package aritest

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

type playback struct {
	id     string
	media  []string
	index  int // the media item playing
	target string
	ch     *channel
	br     *bridge
	info   *PlaybackInfo
	timer  *time.Timer
}

// PlaybackInfo is a snapshot of one playback.
type PlaybackInfo struct {
	ID         string    `json:"id"`
	Media      string    `json:"media"`  // the media URIs as requested, comma-separated
	Target     string    `json:"target"` // "channel:ID" or "bridge:ID"
	State      string    `json:"state"`  // "playing", "done", "failed"
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

func (p *playback) json(state string) playbackJSON {
	j := playbackJSON{ID: p.id, MediaURI: p.media[p.index], TargetURI: p.target, Language: "en", State: state}
	if p.index+1 < len(p.media) {
		j.NextMediaURI = p.media[p.index+1]
	}
	return j
}

func (s *Server) playbackApps(p *playback) []*app { return s.appsFor(p.ch, p.br, nil) }

func (s *Server) emitPlayback(typ string, p *playback, state string) {
	s.emit(event{typ: typ, post: []field{{"playback", p.json(state)}}}, s.playbackApps(p))
}

func (s *Server) playOnChannel(q *request) reply {
	c, err := s.channelFor(q)
	if err != nil {
		return err.reply()
	}
	return s.startPlayback(q, &playback{target: "channel:" + c.id, ch: c})
}

func (s *Server) playOnBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	return s.startPlayback(q, &playback{target: "bridge:" + b.id, br: b})
}

// startPlayback answers 201 with the playback queued, then starts it:
// PlaybackStarted, and PlaybackFinished once the media has played.
func (s *Server) startPlayback(q *request, p *playback) reply {
	p.media = q.list("media")
	if len(p.media) == 0 {
		return errMsg(http.StatusBadRequest, "Missing parameter media").reply()
	}
	p.id = q.param("pid")
	if p.id == "" {
		p.id = q.str("playbackId")
	}
	if p.id == "" {
		p.id = newUUID()
	}
	if _, exists := s.playbacks[p.id]; exists {
		return errMsg(http.StatusConflict, fmt.Sprintf("Playback with id '%s' already exists", p.id)).reply()
	}
	s.playbacks[p.id] = p
	if p.ch != nil {
		p.ch.playbacks = append(p.ch.playbacks, p)
	} else {
		p.br.playbacks = append(p.br.playbacks, p)
	}
	p.info = &PlaybackInfo{ID: p.id, Media: strings.Join(p.media, ","), Target: p.target, State: "playing", StartedAt: s.now()}
	s.history = append(s.history, p.info)
	rep := reply{
		status: http.StatusCreated,
		body:   p.json("queued"),
		model:  "Playback",
		header: map[string]string{"Location": "/ari/playbacks/" + p.id},
	}
	rep.after = func() {
		if s.playbacks[p.id] != p {
			return // stopped, or its channel went, before it started
		}
		s.emitPlayback("PlaybackStarted", p, "playing")
		s.playbackMoved(p)
		s.playItem(p)
	}
	return rep
}

// playItem plays the current media item. A missing sound or recording fails
// the playback at once; an unknown scheme, or a tone, plays until stopped,
// and like on Asterisk a playback of an unknown scheme can no longer be
// looked up.
func (s *Server) playItem(p *playback) {
	d, playable := s.mediaDuration(p.media[p.index])
	switch {
	case !playable:
		s.finishPlayback(p, "failed")
	case d < 0:
		if !knownScheme(p.media[p.index]) {
			delete(s.playbacks, p.id)
			s.detachPlayback(p)
		}
	default:
		p.timer = s.after(d, func() { s.nextItem(p) })
	}
}

func (s *Server) nextItem(p *playback) {
	p.timer = nil
	if p.index+1 == len(p.media) {
		s.finishPlayback(p, "done")
		return
	}
	p.index++
	s.emitPlayback("PlaybackContinuing", p, "playing")
	s.playItem(p)
}

// mediaDuration says how long a media URI plays; -1 means until stopped.
func (s *Server) mediaDuration(uri string) (d time.Duration, playable bool) {
	scheme, name, _ := strings.Cut(uri, ":")
	switch scheme {
	case "sound":
		if s.missing[name] {
			return 0, false
		}
		if d, found := s.opts.SoundDurations[uri]; found {
			return d, true
		}
		if d, found := s.opts.SoundDurations[name]; found {
			return d, true
		}
		return s.opts.DefaultSoundDuration, true
	case "recording":
		if _, found := s.stored[name]; !found {
			return 0, false
		}
		st, err := os.Stat(s.recordingPath(name))
		if err != nil {
			return 0, false
		}
		return wavDuration(st.Size()), true
	case "number", "digits", "characters":
		return s.opts.DefaultSoundDuration, true
	default: // tone:, or a scheme Asterisk does not know
		return -1, true
	}
}

func knownScheme(uri string) bool {
	scheme, _, _ := strings.Cut(uri, ":")
	return slices.Contains([]string{"sound", "recording", "number", "digits", "characters", "tone"}, scheme)
}

// finishPlayback ends a playback with PlaybackFinished in state done or failed.
func (s *Server) finishPlayback(p *playback, state string) {
	s.cancel(p.timer)
	p.timer = nil
	if s.playbacks[p.id] == p {
		delete(s.playbacks, p.id)
	}
	if p.info.State != "playing" {
		return
	}
	p.info.State, p.info.FinishedAt = state, s.now()
	s.detachPlayback(p)
	s.emitPlayback("PlaybackFinished", p, state)
}

func (s *Server) detachPlayback(p *playback) {
	if p.ch != nil {
		p.ch.playbacks = slices.DeleteFunc(p.ch.playbacks, func(x *playback) bool { return x == p })
	} else {
		p.br.playbacks = slices.DeleteFunc(p.br.playbacks, func(x *playback) bool { return x == p })
	}
	s.playbackMoved(p)
}

// playbackMoved tells the bridge the playback concerns that its audio may
// have changed: a playback on a member's channel holds that member out of
// the bridge while it plays.
func (s *Server) playbackMoved(p *playback) {
	switch {
	case p.br != nil:
		s.bridgeAudioChanged(p.br)
	case p.ch != nil && p.ch.bridge != nil:
		s.bridgeAudioChanged(p.ch.bridge)
	}
}

func (s *Server) getPlayback(q *request) reply {
	p, found := s.playbacks[q.param("id")]
	if !found {
		return errMsg(http.StatusNotFound, "Playback not found").reply()
	}
	return ok("Playback", p.json("playing"))
}

func (s *Server) stopPlayback(q *request) reply {
	p, found := s.playbacks[q.param("id")]
	if !found {
		return errMsg(http.StatusNotFound, "Playback not found").reply()
	}
	s.finishPlayback(p, "done")
	return noContent()
}

// Playbacks lists every playback ever started, oldest first.
func (s *Server) Playbacks() []PlaybackInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PlaybackInfo, len(s.history))
	for i, p := range s.history {
		out[i] = *p
	}
	return out
}
