package ari

import (
	"fmt"
	"strconv"

	"github.com/CyCoreSystems/ari/v5"
)

// recorder records a citizen's whole call (7.1.3) through a snoop channel
// that spies on the citizen's channel both ways, rather than recording the
// call's bridge. A real Asterisk 20 ends a bridge recording a few seconds
// after the bridge stops carrying audio, as it does while a prompt plays to
// the citizen's channel (trace 13: the survey and the thanks were lost);
// the snoop hears what the citizen says and hears, prompts, agents and
// survey alike, and its recording ends when the citizen hangs up (trace 15).
//
// Asterisk may still end a recording early (a full disk, a snoop hung up by
// someone else). Its RecordingFinished is then an event to handle, never
// silence: the recording goes on in a new part (NAME-part2, …) on a new
// snoop if need be, and every part is handed to the archive with the call.
// The parts, in order, are the consultation's recording.
//
// A recorder belongs to its call's goroutine.
type recorder struct {
	cli      *Client
	mb       *Mailbox // the call's: snoop and recording events go there
	target   string   // the citizen's channel
	name     string   // the first part's name: the call id
	newID    func(kind byte) string
	parts    []string // every part started, in order
	archived int      // parts handed to the archive so far
	live     string   // the part recording now; "" when none
	snoop    string   // the snoop channel now; "" when none
	stopped  bool
}

// start records the first part. A failure leaves the call unrecorded: the
// caller logs it, the call goes on.
func (r *recorder) start() error { return r.record() }

// record starts the next part on the current snoop, making a snoop first
// when there is none.
func (r *recorder) record() error {
	cl := r.cli.ARI()
	if r.snoop == "" {
		id := r.newID('s')
		r.cli.Dispatcher().Route(ari.ChannelKey, id, r.mb) // its StasisStart comes before the response
		_, err := cl.Channel().Snoop(key(ari.ChannelKey, r.target), id, &ari.SnoopOptions{
			App: r.cli.Application(), AppArgs: "snoop," + r.name, Spy: ari.DirectionBoth, Whisper: ari.DirectionNone})
		if err != nil {
			r.cli.Dispatcher().Unroute(ari.ChannelKey, id)
			return fmt.Errorf("snoop on %s: %w", r.target, err)
		}
		r.snoop = id
	}
	name := r.name
	if len(r.parts) > 0 {
		name += "-part" + strconv.Itoa(len(r.parts)+1)
	}
	r.cli.Dispatcher().Route(ari.LiveRecordingKey, name, r.mb)
	// No silence limit, no length limit, no key ends it: only the hangup.
	if _, err := cl.Channel().Record(key(ari.ChannelKey, r.snoop), name, &ari.RecordingOptions{Format: "wav", Exists: "fail", Terminate: "none"}); err != nil {
		r.cli.Dispatcher().Unroute(ari.LiveRecordingKey, name)
		return fmt.Errorf("record snoop %s as %s: %w", r.snoop, name, err)
	}
	r.parts = append(r.parts, name)
	r.live = name
	return nil
}

// recorderEvent says what an event meant to the recorder.
type recorderEvent int

const (
	recorderIgnored    recorderEvent = iota // not the recorder's
	recorderNoted                           // the recorder's, nothing to do
	recorderEndedEarly                      // the live part ended while the call goes on
)

// handle takes the events of the recorder's snoop and recordings.
func (r *recorder) handle(e ari.Event) recorderEvent {
	switch ev := e.(type) {
	case *ari.RecordingFinished:
		return r.ended(ev.Recording.Name)
	case *ari.RecordingFailed:
		return r.ended(ev.Recording.Name)
	case *ari.StasisStart:
		if ev.Channel.ID == r.snoop {
			return recorderNoted
		}
	case *ari.StasisEnd:
		if ev.Channel.ID == r.snoop {
			r.cli.Dispatcher().Unroute(ari.ChannelKey, r.snoop)
			r.snoop = ""
			return recorderNoted
		}
	case *ari.ChannelDestroyed, *ari.ChannelHangupRequest, *ari.ChannelVarset:
		if ch := channelOf(e); ch != "" && ch == r.snoop {
			return recorderNoted
		}
	}
	return recorderIgnored
}

func (r *recorder) ended(name string) recorderEvent {
	if name == "" || name != r.live {
		for _, p := range r.parts {
			if p == name {
				return recorderNoted // a repeated event of an earlier part
			}
		}
		return recorderIgnored
	}
	r.live = ""
	if r.stopped {
		return recorderNoted
	}
	return recorderEndedEarly
}

// stop ends the live part and the snoop. The citizen hanging up ends both
// anyway; a part that already ended answers 404.
func (r *recorder) stop() error {
	r.stopped = true
	var err error
	cl := r.cli.ARI()
	if r.live != "" {
		if e := cl.LiveRecording().Stop(key(ari.LiveRecordingKey, r.live)); e != nil && httpStatus(e) != 404 {
			err = fmt.Errorf("stop recording %s: %w", r.live, e)
		}
	}
	if r.snoop != "" {
		if e := cl.Channel().Hangup(key(ari.ChannelKey, r.snoop), "normal"); e != nil && httpStatus(e) != 404 && err == nil {
			err = fmt.Errorf("hang up snoop %s: %w", r.snoop, e)
		}
	}
	return err
}

// cleanup removes the recorder's routes.
func (r *recorder) cleanup() {
	d := r.cli.Dispatcher()
	for _, p := range r.parts {
		d.Unroute(ari.LiveRecordingKey, p)
	}
	if r.snoop != "" {
		d.Unroute(ari.ChannelKey, r.snoop)
	}
}

// channelOf is the channel id an event is about, "" when none.
func channelOf(e ari.Event) string {
	switch ev := e.(type) {
	case *ari.ChannelDestroyed:
		return ev.Channel.ID
	case *ari.ChannelHangupRequest:
		return ev.Channel.ID
	case *ari.ChannelVarset:
		return ev.Channel.ID
	}
	return ""
}
