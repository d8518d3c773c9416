package aritest

import "strings"

// handler answers one ARI route. It runs with s.mu held.
type handler func(s *Server, q *request) reply

type route struct {
	method string
	segs   []string // literal segments, or "{name}" for a parameter
	h      handler
}

// routes lists the ARI resources the fake serves, paths relative to /ari.
// Literal routes come before parameterised ones of the same shape.
var routes = buildRoutes([]struct {
	method, pattern string
	h               handler
}{
	{"GET", "/asterisk/info", (*Server).getInfo},
	{"GET", "/asterisk/ping", (*Server).getPing},
	{"GET", "/asterisk/variable", (*Server).getGlobalVar},
	{"POST", "/asterisk/variable", (*Server).setGlobalVar},

	{"GET", "/applications", (*Server).listApplications},
	{"GET", "/applications/{app}", (*Server).getApplication},
	{"POST", "/applications/{app}/subscription", (*Server).subscribeApplication},
	{"DELETE", "/applications/{app}/subscription", (*Server).unsubscribeApplication},

	{"GET", "/channels", (*Server).listChannels},
	{"POST", "/channels", (*Server).postOriginate},
	{"POST", "/channels/create", notImplemented},
	{"POST", "/channels/externalMedia", notImplemented},
	{"GET", "/channels/{id}", (*Server).getChannel},
	{"POST", "/channels/{id}", (*Server).postOriginateWithID},
	{"DELETE", "/channels/{id}", (*Server).deleteChannel},
	{"POST", "/channels/{id}/answer", (*Server).answerChannel},
	{"POST", "/channels/{id}/continue", (*Server).continueChannel},
	{"POST", "/channels/{id}/ring", (*Server).channelNoop},
	{"DELETE", "/channels/{id}/ring", (*Server).channelNoop},
	{"POST", "/channels/{id}/moh", (*Server).channelNoop},
	{"DELETE", "/channels/{id}/moh", (*Server).channelNoop},
	{"POST", "/channels/{id}/silence", (*Server).channelNoop},
	{"DELETE", "/channels/{id}/silence", (*Server).channelNoop},
	{"POST", "/channels/{id}/mute", (*Server).channelNoop},
	{"DELETE", "/channels/{id}/mute", (*Server).channelNoop},
	{"POST", "/channels/{id}/dtmf", (*Server).channelNoop},
	{"POST", "/channels/{id}/play", (*Server).playOnChannel},
	{"POST", "/channels/{id}/play/{pid}", (*Server).playOnChannel},
	{"POST", "/channels/{id}/record", (*Server).recordChannel},
	{"GET", "/channels/{id}/variable", (*Server).getVariable},
	{"POST", "/channels/{id}/variable", (*Server).setVariable},
	{"POST", "/channels/{id}/snoop", (*Server).snoopChannel},
	{"POST", "/channels/{id}/snoop/{sid}", (*Server).snoopChannel},

	{"GET", "/bridges", (*Server).listBridges},
	{"POST", "/bridges", (*Server).createBridge},
	{"GET", "/bridges/{id}", (*Server).getBridge},
	{"POST", "/bridges/{id}", (*Server).createBridge},
	{"DELETE", "/bridges/{id}", (*Server).deleteBridge},
	{"POST", "/bridges/{id}/addChannel", (*Server).addToBridge},
	{"POST", "/bridges/{id}/removeChannel", (*Server).removeFromBridge},
	{"POST", "/bridges/{id}/moh", (*Server).bridgeNoop},
	{"DELETE", "/bridges/{id}/moh", (*Server).bridgeNoop},
	{"POST", "/bridges/{id}/play", (*Server).playOnBridge},
	{"POST", "/bridges/{id}/play/{pid}", (*Server).playOnBridge},
	{"POST", "/bridges/{id}/record", (*Server).recordBridge},

	{"GET", "/playbacks/{id}", (*Server).getPlayback},
	{"DELETE", "/playbacks/{id}", (*Server).stopPlayback},

	{"GET", "/recordings/stored", (*Server).listStored},
	{"GET", "/recordings/stored/{name}", (*Server).getStored},
	{"DELETE", "/recordings/stored/{name}", (*Server).deleteStored},
	{"GET", "/recordings/stored/{name}/file", (*Server).getStoredFile},
	{"POST", "/recordings/stored/{name}/copy", (*Server).copyStored},
	{"GET", "/recordings/live/{name}", (*Server).getLive},
	{"DELETE", "/recordings/live/{name}", (*Server).cancelLive},
	{"POST", "/recordings/live/{name}/stop", (*Server).stopLive},

	{"GET", "/endpoints", (*Server).listEndpoints},
	{"PUT", "/endpoints/sendMessage", (*Server).sendMessageTo},
	{"GET", "/endpoints/{tech}", (*Server).listTechEndpoints},
	{"GET", "/endpoints/{tech}/{res}", (*Server).getEndpoint},
	{"PUT", "/endpoints/{tech}/{res}/sendMessage", (*Server).sendMessage},
})

func buildRoutes(defs []struct {
	method, pattern string
	h               handler
}) []route {
	out := make([]route, len(defs))
	for i, d := range defs {
		out[i] = route{method: d.method, segs: strings.Split(strings.Trim(d.pattern, "/"), "/"), h: d.h}
	}
	return out
}

// matchRoute finds the handler for method and path (without "/ari").
// allowed reports that the path exists under another method.
func matchRoute(method, path string) (h handler, params map[string]string, allowed bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range routes {
		p, matched := matchSegs(rt.segs, segs)
		if !matched {
			continue
		}
		if rt.method != method {
			allowed = true
			continue
		}
		return rt.h, p, true
	}
	return nil, nil, allowed
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if name, isParam := strings.CutPrefix(p, "{"); isParam {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func notImplemented(*Server, *request) reply {
	return errMsg(501, "Not implemented").reply()
}
