package aritest

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Sounds are indexed the way Asterisk 20 indexes its sounds folder: the
// first folder of a file's path is its language, the rest its id
// (noted in DESIGN.md from a real Asterisk). So sounds/hotline/greeting.wav,
// which plays as sound:hotline/greeting, is listed by GET /sounds as id
// "greeting" with language "hotline", and GET /sounds/greeting finds it;
// GET /sounds/hotline/greeting matches no route (404). A sound named
// without a folder (sound:hello-world) is a core sound of language "en".
//
// The installed sounds are Options.Sounds, the sounds of
// Options.SoundDurations, and the core sounds hello-world and beep, less
// Options.MissingSounds. Playback is more lenient than the index: any sound
// that is not missing plays.
func init() {
	routes = append(routes, buildRoutes([]struct {
		method, pattern string
		h               handler
	}{
		{"GET", "/sounds", (*Server).listSounds},
		{"GET", "/sounds/{id}", (*Server).getSound},
	})...)
}

// coreSounds are installed on every fake, as on a stock Asterisk.
var coreSounds = []string{"hello-world", "beep"}

type formatLangJSON struct {
	Language string `json:"language"`
	Format   string `json:"format"`
}

type soundJSON struct {
	ID      string           `json:"id"`
	Text    string           `json:"text,omitempty"`
	Formats []formatLangJSON `json:"formats"`
}

// soundIndex maps each sound id to its languages, sorted. Callers hold s.mu
// (the options it reads do not change, but keep to one rule).
func (s *Server) soundIndex() map[string][]string {
	names := append(slices.Clone(coreSounds), s.opts.Sounds...)
	for k := range s.opts.SoundDurations {
		names = append(names, k)
	}
	idx := map[string][]string{}
	for _, n := range names {
		n = strings.TrimPrefix(n, "sound:")
		if n == "" || s.missing[n] {
			continue
		}
		lang, id, inFolder := strings.Cut(n, "/")
		if !inFolder {
			lang, id = "en", n
		}
		if !slices.Contains(idx[id], lang) {
			idx[id] = append(idx[id], lang)
			slices.Sort(idx[id])
		}
	}
	return idx
}

func soundOf(id string, langs []string) soundJSON {
	sj := soundJSON{ID: id}
	for _, l := range langs {
		sj.Formats = append(sj.Formats, formatLangJSON{Language: l, Format: "wav"})
	}
	return sj
}

// listSounds serves GET /sounds, filtered by ?lang= and ?format=.
func (s *Server) listSounds(q *request) reply {
	idx := s.soundIndex()
	lang, format := q.str("lang"), q.str("format")
	out := []soundJSON{}
	for _, id := range slices.Sorted(maps.Keys(idx)) {
		langs := idx[id]
		if lang != "" {
			if !slices.Contains(langs, lang) {
				continue
			}
			langs = []string{lang}
		}
		if format != "" && format != "wav" {
			continue
		}
		out = append(out, soundOf(id, langs))
	}
	return ok("List[Sound]", out)
}

func (s *Server) getSound(q *request) reply {
	id := q.param("id")
	langs, found := s.soundIndex()[id]
	if !found {
		return errMsg(http.StatusNotFound, "Sound not found").reply()
	}
	return ok("Sound", soundOf(id, langs))
}
