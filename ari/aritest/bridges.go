package aritest

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

type bridge struct {
	order     uint64
	id, name  string
	typ       string // bridge_type: mixing or holding
	tech      string // technology as last reported; events show the one before the change
	created   time.Time
	members   []*channel
	recorders []*liveRecording // oldest first
	playbacks []*playback
}

func (b *bridge) json() bridgeJSON {
	ids := make([]string, len(b.members))
	for i, c := range b.members {
		ids[i] = c.id
	}
	return bridgeJSON{
		ID: b.id, Technology: b.tech, BridgeType: b.typ, BridgeClass: "stasis", Creator: "Stasis",
		Name: b.name, Channels: ids, Creationtime: b.created.Format(dateFormat), VideoMode: "talker",
	}
}

// native reports a two-party bridge that Asterisk would bridge natively:
// peers see each other directly (BRIDGEPVTCALLID, connected line).
func (b *bridge) native() bool {
	return b.typ == "mixing" && len(b.members) == 2 && len(b.recorders) == 0
}

func (b *bridge) other(c *channel) *channel {
	for _, m := range b.members {
		if m != c {
			return m
		}
	}
	return nil
}

// technology is what Asterisk picks for the current members: one party
// needs nothing, two are bridged natively, a recorder or a third party
// needs the mixer.
func (b *bridge) technology() string {
	switch {
	case b.typ == "holding":
		return "holding_bridge"
	case len(b.members) <= 1:
		return "simple_bridge"
	case b.native():
		return "native_rtp"
	default:
		return "softmix"
	}
}

// peerList is a member's BRIDGEPEER: the other parties, then the recorders,
// newest first.
func (b *bridge) peerList(c *channel) string {
	var peers []string
	for _, m := range b.members {
		if m != c {
			peers = append(peers, m.name)
		}
	}
	for i := len(b.recorders) - 1; i >= 0; i-- {
		peers = append(peers, b.recorders[i].recorderName)
	}
	return strings.Join(peers, ",")
}

func (s *Server) bridgeApps(b *bridge) []*app { return s.appsFor(nil, b, nil) }

// emitMembership sends ChannelEnteredBridge or ChannelLeftBridge to the apps
// of the channel and of the bridge, then settles the new technology.
func (s *Server) emitMembership(typ string, b *bridge, c *channel) {
	s.emit(event{typ: typ, post: []field{{"bridge", b.json()}, {"channel", c.json()}}}, s.appsFor(c, b, nil))
	b.tech = b.technology()
}

// peersChanged sets BRIDGEPEER (and, for a native pair, BRIDGEPVTCALLID and
// the connected line) the way Asterisk does after members change. first,
// when set, is updated first.
func (s *Server) peersChanged(b *bridge, first *channel) {
	if len(b.members)+len(b.recorders) < 2 || len(b.members) == 0 {
		return
	}
	if b.native() {
		s.nativePair(b)
		return
	}
	order := slices.Clone(b.members)
	if first != nil {
		order = append([]*channel{first}, slices.DeleteFunc(order, func(m *channel) bool { return m == first })...)
	}
	for _, m := range order {
		s.setVar(m, "BRIDGEPEER", b.peerList(m))
	}
}

// nativePair replays how Asterisk 20 settles two directly bridged SIP
// channels: peer variables twice, the later member's connected line, peer
// variables again, the earlier member's connected line (traces 04, 06).
func (s *Server) nativePair(b *bridge) {
	earlier, later := b.members[0], b.members[1]
	round := func() {
		for _, m := range []*channel{later, earlier} {
			peer := b.other(m)
			s.setVar(m, "BRIDGEPEER", peer.name)
			s.setVar(m, "BRIDGEPVTCALLID", peer.protocolID)
		}
	}
	round()
	round()
	if later.connected != earlier.caller {
		later.connected = earlier.caller
		s.emitChannel("ChannelConnectedLine", later, nil)
	}
	round()
	if earlier.connected != later.caller {
		earlier.connected = later.caller
		s.emitChannel("ChannelConnectedLine", earlier, nil)
	}
}

// joinBridge puts a Stasis channel into a bridge, moving it out of any
// other; the channel's apps subscribe to the bridge.
func (s *Server) joinBridge(b *bridge, c *channel) {
	if c.bridge != nil {
		s.leaveBridge(c, false)
	}
	b.members = append(b.members, c)
	c.bridge = b
	s.timeJoined(b)
	for _, a := range s.channelApps(c) {
		a.bridges[b.id] = true
	}
	s.emitMembership("ChannelEnteredBridge", b, c)
	s.markRecordings(b)
	s.peersChanged(b, c)
	s.bridgeAudioChanged(b)
}

// leaveBridge takes a channel out of its bridge. dissolving skips updating
// the members that stay, as they are about to leave too.
func (s *Server) leaveBridge(c *channel, dissolving bool) {
	b := c.bridge
	if c.vars["BRIDGEPEER"] != "" {
		s.setVar(c, "BRIDGEPEER", "")
	}
	if c.vars["BRIDGEPVTCALLID"] != "" {
		s.setVar(c, "BRIDGEPVTCALLID", "")
	}
	b.members = slices.DeleteFunc(b.members, func(m *channel) bool { return m == c })
	c.bridge = nil
	s.emitMembership("ChannelLeftBridge", b, c)
	s.markRecordings(b)
	s.markSnoops(c)
	if !dissolving {
		s.peersChanged(b, nil)
		s.bridgeAudioChanged(b)
		s.timeLeft(b, c)
	}
}

// BridgeInfo is a snapshot of one bridge.
type BridgeInfo struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"` // bridge_type: "mixing" or "holding"
	Channels  []string `json:"channels"`
	Recording string   `json:"recording,omitempty"` // the live recording running on it
}

// Bridges snapshots every bridge, oldest first.
func (s *Server) Bridges() []BridgeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []BridgeInfo{}
	for _, b := range s.sortedBridges() {
		bi := BridgeInfo{ID: b.id, Type: b.typ, Channels: b.json().Channels}
		if n := len(b.recorders); n > 0 {
			bi.Recording = b.recorders[n-1].name
		}
		out = append(out, bi)
	}
	return out
}

func (s *Server) sortedBridges() []*bridge {
	out := make([]*bridge, 0, len(s.bridges))
	for _, b := range s.bridges {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *bridge) int { return cmp.Compare(a.order, b.order) })
	return out
}

func (s *Server) bridgeFor(q *request) (*bridge, *ariError) {
	b, found := s.bridges[q.param("id")]
	if !found {
		return nil, errMsg(http.StatusNotFound, "Bridge not found")
	}
	return b, nil
}

func (s *Server) listBridges(*request) reply {
	out := []bridgeJSON{}
	for _, b := range s.sortedBridges() {
		out = append(out, b.json())
	}
	return ok("List[Bridge]", out)
}

func (s *Server) getBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	return ok("Bridge", b.json())
}

// createBridge serves POST /bridges and POST /bridges/{id}; no event, as
// Asterisk sends no BridgeCreated for bridges made over REST.
func (s *Server) createBridge(q *request) reply {
	id := q.param("id")
	if id == "" {
		id = q.str("bridgeId")
	}
	if id == "" {
		id = newUUID()
	}
	if _, exists := s.bridges[id]; exists {
		return errMsg(http.StatusConflict, fmt.Sprintf("Bridge with id '%s' already exists", id)).reply()
	}
	typ := "mixing"
	if slices.Contains(strings.Split(q.str("type"), ","), "holding") {
		typ = "holding"
	}
	s.seq.order++
	b := &bridge{order: s.seq.order, id: id, name: q.str("name"), typ: typ, created: s.now()}
	b.tech = b.technology()
	s.bridges[id] = b
	return ok("Bridge", b.json())
}

func (s *Server) deleteBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	s.destroyBridge(b)
	return noContent()
}

// destroyBridge stops what runs on the bridge, lets the members go and
// reports BridgeDestroyed.
func (s *Server) destroyBridge(b *bridge) {
	for _, r := range slices.Clone(b.recorders) {
		s.finishRecording(r, "done")
	}
	for _, p := range slices.Clone(b.playbacks) {
		s.finishPlayback(p, "done")
	}
	for _, c := range slices.Clone(b.members) {
		s.leaveBridge(c, true)
	}
	s.emit(event{typ: "BridgeDestroyed", post: []field{{"bridge", b.json()}}}, s.bridgeApps(b))
	delete(s.bridges, b.id)
	s.forgetBridge(b.id)
}

// addToBridge adds one or more channels ("channel" may list several). An
// unknown channel is a 400 here, not a 404.
func (s *Server) addToBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	chans, err := s.channelsParam(q)
	if err != nil {
		return err.reply()
	}
	for _, c := range chans {
		if !c.inStasis {
			return errMsg(http.StatusUnprocessableEntity, "Channel not in Stasis application").reply()
		}
	}
	for _, c := range chans {
		s.joinBridge(b, c)
	}
	return noContent()
}

func (s *Server) removeFromBridge(q *request) reply {
	b, err := s.bridgeFor(q)
	if err != nil {
		return err.reply()
	}
	chans, err := s.channelsParam(q)
	if err != nil {
		return err.reply()
	}
	for _, c := range chans {
		if c.bridge != b {
			return errMsg(http.StatusUnprocessableEntity, "Channel not in this bridge").reply()
		}
	}
	for _, c := range chans {
		s.leaveBridge(c, false)
	}
	return noContent()
}

func (s *Server) channelsParam(q *request) ([]*channel, *ariError) {
	ids := q.list("channel")
	if len(ids) == 0 {
		return nil, errMsg(http.StatusBadRequest, "Missing parameter channel")
	}
	out := make([]*channel, 0, len(ids))
	for _, id := range ids {
		c, found := s.channels[id]
		if !found {
			return nil, errMsg(http.StatusBadRequest, "Channel not found")
		}
		out = append(out, c)
	}
	return out, nil
}

// bridgeNoop serves bridge music on hold: 204, no event.
func (s *Server) bridgeNoop(q *request) reply {
	if _, err := s.bridgeFor(q); err != nil {
		return err.reply()
	}
	return noContent()
}
