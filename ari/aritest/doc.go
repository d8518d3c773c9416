// Package aritest is a fake Asterisk 20 that speaks real ARI: REST under
// /ari and the event websocket at /ari/events, so that
// github.com/CyCoreSystems/ari/v5's native client talks to it unchanged.
// Tests, the demo and load runs use it in place of Asterisk.
//
// It keeps real state (channels, bridges, playbacks, live and stored
// recordings, endpoints, applications and their subscriptions, channel
// variables) and behaves as the wire traces in testdata/ari-traces show:
// the same events in the same order, the same causes, error statuses and
// bodies, and the same header spellings (Content-type, Server,
// Cache-Control, Location on 201, WWW-Authenticate on 401). Everything it
// emits fits the Asterisk 22 ARI schema in testdata/ari-api-docs.
//
//	srv := aritest.NewTest(t, aritest.Options{})
//	srv.SetEndpoint("PJSIP/1001", aritest.Behavior{AnswerAfter: time.Second})
//	client, _ := native.Connect(&native.Options{Application: "hotline",
//		URL: srv.ARIURL(), WebsocketURL: srv.WebsocketURL(),
//		Username: "hotline", Password: "hotline"})
//	_ = srv.WaitRegistered(ctx, "hotline")
//	id, _ := srv.PlaceCall(aritest.InboundCall{Caller: "13800138000"})
//
// An application exists, and its events are delivered, from the moment its
// event websocket's upgrade completes (the 101 is written only once it is
// registered); nothing is sent on connect. A second websocket for the same
// application takes it over, and the first gets ApplicationReplaced.
// When an application's websocket goes away (the service was killed),
// everything it made stays, as on Asterisk (trace 14): channels in Stasis,
// bridges, live and stored recordings; GET /applications/{app} still
// lists its channel_ids and bridge_ids, and a websocket that connects
// again gets their events.
// An event reaches an application once per subscription that covers its
// object (trace 13): an app subscribed to an agent's endpoint gets the
// events of a channel it originated to that endpoint twice, back to back,
// and before them, once, EndpointStateChange, ChannelCreated,
// ChannelDialplan, ChannelConnectedLine and ChannelCallerId. StasisStart,
// StasisEnd, bridge, playback and recording events come once.
//
// # Calls
//
// PlaceCall brings a citizen's call into Stasis (StasisStart, state Ring,
// channel PJSIP/citizen-0000000N, an Asterisk-style uniqueid); the app
// answers it. Calls the app originates follow the dialed endpoint's
// Behavior: Dial "" → ringing → answer (Up, Dial ANSWER, STASISSTATUS,
// StasisStart), or busy (17/486), not found (1/404), no answer until the
// originate timeout (19/480, ChannelDestroyed alone), or "500 Allocation
// failed" with no channel when the endpoint is offline or unknown. Numbers
// on a trunk ("PJSIP/13800138000@trunk") take their own SetEndpoint entry,
// else the trunk's SetTrunkDefault; an Unreachable number fails with cause
// 20. An Unreachable phone endpoint has crashed instead (trace 09): it goes
// offline with its contact Unreachable, and SetOnline(name, true) brings it
// back; SetOnline(name, false) is a graceful un-register. Hangups follow the
// traces: RTP statistics variables, ChannelHangupRequest (cause 32 soft for
// the app's DELETE, no cause for the far end's BYE), ChannelLeftBridge,
// StasisEnd, and ChannelDestroyed only for channels the app originated.
// Scripted digits (Behavior.DTMF, InboundCall.DTMF) are pressed one after
// another in the order given, SendDTMF's after any still to come, and a
// scripted hangup (HangupAfter) waits for the last of them.
//
// Channel ids the app chooses are refused when they are a prefix of a live
// channel's id, as Asterisk 20 compares only that many characters: 409 on
// originate, 500 "Allocation failed" on snoop. When no websocket is
// connected for the application, PlaceCall runs the dialplan's fallback
// (fallback.go: apology, then VoiceMail(hotline@hotline) with the message
// stored as app_voicemail stores it) and returns ErrStasisFailed; the
// fallback writes the call to AstDB as the kit's dialplan does, read with
// GET /asterisk/variable and DB_KEYS, DB, DB_DELETE, DB_EXISTS (astdb.go).
//
// Bridges report simple_bridge with one party, native_rtp for two parties
// bridged directly, softmix with a recorder or a third party; events carry
// the technology from before the change, as Asterisk's do. Recordings are
// real WAV files (8 kHz, 16-bit, mono) in Options.RecordingsDir, as long as
// they ran, in which each party sounds as its own tone while in the bridge;
// a spy-both snoop's recording hears its channel and that channel's bridge
// peers, and ends, after the channel's StasisEnd, when the channel hangs up
// (trace 15). A bridge recording ends by itself when the last party leaves
// (trace 16), and RecorderIdleTimeout (4 s) after its bridge stopped
// carrying audio, e.g. while a prompt plays to its only party's channel
// rather than to the bridge (trace 13); its file then ends where the audio
// did, and a later stop gets 404. GET /sounds indexes sounds by language
// folder (sounds.go).
// Playbacks last Options.SoundDurations (default 1 s); recording:NAME plays
// for the stored recording's length; a sound in Options.MissingSounds fails
// at once; tone: and unknown schemes play until stopped, and an unknown
// scheme's playback cannot be looked up, as on Asterisk.
//
// Not served: dialplan originates (extension without app create a channel
// that sits in the dialplan), /channels/create, externalMedia, channel
// hold, playback control, and recording silence detection
// (maxSilenceSeconds is ignored). Formats other than wav answer 422;
// ifExists "append" overwrites.
//
// # Faults
//
// FailRoute and DelayRoute act on ARI requests matching a method and a
// path.Match pattern. DropWebsockets cuts every event websocket. While
// RefuseConnections lasts, every open connection is closed and new TCP
// connections are accepted and closed at once (clients see EOF or a reset,
// not an HTTP status). Restart drops websockets and forgets channels,
// bridges, playbacks, live recordings, applications and subscriptions;
// endpoints, stored recordings, sent messages and the entity id stay.
// EndRecording ends a live recording as Asterisk may on its own.
// SendUndecodable sends a schema-valid event ari/v5 v5.3.1 cannot decode
// (ChannelTransfer, ChannelToneDetected, ApplicationRegistered,
// ApplicationUnregistered; ChannelCallerId is accepted too, but v5.3.1
// decodes it). SendRaw sends any bytes.
//
// # Simulator routes
//
// Under /sim, without credentials, JSON in and out. Durations are strings
// such as "2s". Bad input answers 400, an unknown channel or endpoint 404,
// a request the state refuses (no websocket for the app, a channel not Up)
// 409; errors are {"error": "..."}.
//
//	POST /sim/calls                      {"caller":"13800138000","caller_name":"","dialed":"12345",
//	                                      "app":"hotline","args":["inbound"],"hangup_after":"30s",
//	                                      "dtmf":"1#","dtmf_gap":"500ms"}   → 201 {"channel_id":"…"}
//	GET  /sim/calls                      → [PlacedCall…]: every call placed, with its channel id,
//	                                      outcome ("stasis" or "fallback"), voice message and end
//	GET  /sim/channels                   → [ChannelInfo…]
//	POST /sim/channels/{id}/dtmf         {"digits":"25#"}                   → 204
//	POST /sim/channels/{id}/hangup                                          → 204 (the far end hangs up)
//	GET  /sim/bridges                    → [BridgeInfo…]
//	GET  /sim/playbacks                  → [PlaybackInfo…]
//	GET  /sim/endpoints                  → [{"name","online","behavior","channel_ids"}…]
//	PUT  /sim/endpoints/{name…}          Behavior, e.g. {"answer_after":"2s","hangup_after":"1m"} → 200
//	                                     (name "PJSIP/1001" or "PJSIP/13800138000@trunk")
//	POST /sim/endpoints/{name…}/online                                      → 204
//	POST /sim/endpoints/{name…}/offline                                     → 204
//	PUT  /sim/trunks/{name}              Behavior for the trunk's numbers   → 204
//	GET  /sim/messages                   → [{"to","from","body","variables","at"}…]
//	GET  /sim/recordings                 → ["name"…]
//	GET  /sim/voicemail                  → [{"mailbox","path","callerid","channel","at","duration"}…]
//	POST /sim/faults                     {"kind": …}                        → 204
//	GET  /sim/timings                    → {"active","events_sent","ari_requests","ended":[CallTiming…]}
//	                                     (calls ended since the last read, each once: load generators)
//
// Behavior on the wire: {"offline","answer_after","no_answer","busy",
// "unreachable","not_found","hangup_after","dtmf","dtmf_gap"}. Fault
// kinds: "drop_websockets"; "refuse_connections" with "duration";
// "fail_route" with "method", "pattern", "status" and optional "times";
// "delay_route" with "method", "pattern" and "duration"; "undecodable" with
// "event_type"; "end_recording" with "name"; "restart"; "clear".
// POST /sim/calls answers {"channel_id", "stasis": "FAILED"} when the call
// went to the dialplan's fallback. Its optional "hangup_when_alone" (e.g.
// "0s") hangs the citizen up that long after the last agent left their
// bridge, for load runs where nobody waits for the survey.
package aritest
