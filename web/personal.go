package web

import (
	"net/http"
	"strings"

	"hotline"
)

// Citizens' numbers are personal data. Every answer masks them
// (138****8000) unless the request asks ?numbers=full; then a supervisor,
// or the matter's responsible agent, gets them whole, and that read is one
// audit row (call.number). Lists the console polls stay masked, so the
// audit log records deliberate reads, not refreshes.

// wantFullNumbers reads ?numbers= ("" or masked, or full).
func wantFullNumbers(op string, r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("numbers"); v {
	case "", "masked":
		return false, nil
	case "full":
		return true, nil
	default:
		return false, hotline.Errorf(hotline.KindInvalid, op, "numbers %q must be masked or full", v)
	}
}

// numberView decides, matter by matter, whether the actor of a request
// sees numbers whole, and audits the whole ones once per request.
type numberView struct {
	s     *Server
	r     *http.Request
	full  bool
	shown []string // matters whose numbers were shown whole
}

func (s *Server) numbers(r *http.Request, full bool) *numberView {
	return &numberView{s: s, r: r, full: full}
}

// show returns number whole or masked for matter m.
func (v *numberView) show(m hotline.Matter, number string) string {
	if number == "" {
		return ""
	}
	a, _ := hotline.ActorFromContext(v.r.Context())
	if v.full && hotline.SeesFullNumber(a, m) {
		v.shown = append(v.shown, m.String())
		return number
	}
	return hotline.MaskNumber(number)
}

// text masks every number in free text (a violation's detail) unless the
// actor sees m's numbers whole.
func (v *numberView) text(m hotline.Matter, s string) string {
	a, _ := hotline.ActorFromContext(v.r.Context())
	if v.full && hotline.SeesFullNumber(a, m) {
		return s
	}
	return hotline.MaskNumbersIn(s)
}

// audit writes one call.number row naming the matters shown whole.
func (v *numberView) audit() {
	if len(v.shown) == 0 {
		return
	}
	shown := dedupe(v.shown)
	object := shown[0]
	if len(shown) > 1 {
		object = v.r.URL.Path
	}
	v.s.auditf(v.r, hotline.ActCallNumber, object, hotline.OutcomeOK, strings.Join(shown, " "))
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, x := range list {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
