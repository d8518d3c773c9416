package app

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"hotline/ari/aritest"
)

// confSection is one [name](templates) section of an Asterisk .conf file.
type confSection struct {
	name       string
	template   bool     // [name](!)
	templates  []string // [name](tpl1,tpl2)
	keys, vals []string // in order; "exten" and "same" repeat
}

// parseAsteriskConf reads an Asterisk config file: sections, "key = value"
// and "key => value" lines, ';' comments. Enough for the files we ship.
func parseAsteriskConf(t *testing.T, path string) []*confSection {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []*confSection
	var cur *confSection
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, ";"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue // systemd units comment with '#'
		}
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			end := strings.Index(line, "]")
			require.Positive(t, end, "%s:%d: bad section %q", path, n, line)
			cur = &confSection{name: line[1:end]}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" {
				require.True(t, strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")"), "%s:%d: bad section %q", path, n, line)
				for _, tpl := range strings.Split(rest[1:len(rest)-1], ",") {
					if tpl = strings.TrimSpace(tpl); tpl == "!" {
						cur.template = true
					} else {
						cur.templates = append(cur.templates, tpl)
					}
				}
			}
			out = append(out, cur)
			continue
		}
		require.NotNil(t, cur, "%s:%d: key outside a section", path, n)
		key, val, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s:%d: not key = value: %q", path, n, line)
		cur.keys = append(cur.keys, strings.TrimSpace(key))
		cur.vals = append(cur.vals, strings.TrimSpace(strings.TrimPrefix(val, ">")))
	}
	require.NoError(t, sc.Err())
	return out
}

// props resolves a section's keys with its templates' (own keys win).
func props(all []*confSection, s *confSection) map[string]string {
	m := map[string]string{}
	for _, tpl := range s.templates {
		for _, c := range all {
			if c.template && c.name == tpl {
				for k, v := range props(all, c) {
					m[k] = v
				}
			}
		}
	}
	for i, k := range s.keys {
		m[k] = s.vals[i]
	}
	return m
}

// sectionOfType finds the non-template section name of the given type.
func sectionOfType(all []*confSection, name, typ string) map[string]string {
	for _, s := range all {
		if s.name == name && !s.template {
			if p := props(all, s); p["type"] == typ {
				return p
			}
		}
	}
	return nil
}

// exampleConfig reads configs/hotline.example.yaml without validation
// (its ARI password comes from the environment).
func exampleConfig(t *testing.T) Config {
	t.Helper()
	data, err := os.ReadFile("../configs/hotline.example.yaml")
	require.NoError(t, err)
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&cfg))
	cfg.SetDefaults()
	cfg.ARI.Password = "x"
	require.NoError(t, cfg.Validate())
	return cfg
}

func TestAsteriskConfigsAgreeWithExampleConfig(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	dir := filepath.Join("..", "configs", "asterisk")

	t.Run("http.conf", func(t *testing.T) {
		t.Parallel()
		conf := parseAsteriskConf(t, filepath.Join(dir, "http.conf"))
		g := sectionByName(conf, "general")
		require.NotNil(t, g)
		u, err := url.Parse(cfg.ARI.URL)
		require.NoError(t, err)
		require.Equal(t, "yes", g["enabled"])
		require.Equal(t, u.Hostname(), g["bindaddr"], "http.conf bindaddr vs ari.url")
		require.Equal(t, u.Port(), g["bindport"], "http.conf bindport vs ari.url")
		require.Equal(t, "/"+strings.Trim(g["prefix"]+"/ari", "/"), u.Path, "http.conf prefix vs ari.url path")
	})

	t.Run("ari.conf", func(t *testing.T) {
		t.Parallel()
		conf := parseAsteriskConf(t, filepath.Join(dir, "ari.conf"))
		require.Equal(t, "yes", sectionByName(conf, "general")["enabled"])
		user := sectionOfType(conf, cfg.ARI.Username, "user")
		require.NotNil(t, user, "ari.conf has no user [%s] (ari.username)", cfg.ARI.Username)
		require.Equal(t, "crypt", user["password_format"])
		require.True(t, strings.HasPrefix(user["password"], "$6$"), "a SHA-512 crypt hash")
		require.Equal(t, "no", user["read_only"])
	})

	t.Run("extensions.conf", func(t *testing.T) {
		t.Parallel()
		conf := parseAsteriskConf(t, filepath.Join(dir, "extensions.conf"))
		stasis := "Stasis(" + cfg.ARI.Application + ",inbound)"
		numbers := append(append([]string{}, cfg.Calls.HotlineNumbers...), cfg.Calls.ComplaintNumbers...)
		require.NotEmpty(t, numbers)
		inbound := sectionByName(conf, "hotline-inbound")
		require.NotNil(t, inbound)
		for _, n := range numbers {
			require.Contains(t, extens(conf, "from-trunk"), n+",1,NoOp(", "from-trunk does not route %s", n)
			require.Contains(t, extens(conf, "from-trunk"), "Goto(hotline-inbound,${EXTEN},1)")
			require.Contains(t, extens(conf, "hotline-inbound"), n+",1,"+stasis, "%s is not sent to %s", n, stasis)
		}
		all := extens(conf, "hotline-inbound")
		require.Contains(t, all, "Goto(fallback,1)")
		require.Contains(t, all, `GotoIf($["${STASISSTATUS}" = "SUCCESS"]?done)`)
		// The fake Asterisk runs the same fallback (aritest/fallback.go).
		require.Contains(t, all, "Playback("+strings.TrimPrefix(aritest.FallbackPrompt, "sound:")+")")
		require.Contains(t, all, "VoiceMail("+aritest.FallbackMailbox+",")
		// Every fallback call is on record in AstDB, as the fake writes it (aritest/astdb.go).
		require.Contains(t, all, "Set(DB("+aritest.FallbackFamily+"/${UNIQUEID})=${CALLERID(num)}|${FALLBACK_AT}|)")
		require.Contains(t, all, "Set(DB("+aritest.FallbackFamily+"/${UNIQUEID})=${CALLERID(num)}|${FALLBACK_AT}|${VM_MESSAGEFILE})")
		require.Equal(t, cfg.Calls.Prompts.Apology.Sound, aritest.FallbackPrompt, "the fallback plays the service's apology")
		require.Contains(t, extens(conf, "agents-outbound"), "@trunk")
		require.Contains(t, extens(conf, "agents-messages"), "MessageSend(")
	})

	t.Run("voicemail.conf", func(t *testing.T) {
		t.Parallel()
		conf := parseAsteriskConf(t, filepath.Join(dir, "voicemail.conf"))
		g := sectionByName(conf, "general")
		require.NotNil(t, g)
		require.Equal(t, "wav", g["format"], "8 kHz PCM, as the archive keeps recordings")
		require.Equal(t, fmt.Sprint(int(cfg.Calls.VoicemailMax.Seconds())), g["maxsecs"], "maxsecs vs calls.voicemail_max")
		mailbox, context, _ := strings.Cut(aritest.FallbackMailbox, "@")
		box := sectionByName(conf, context)
		require.NotNil(t, box, "voicemail.conf has no context [%s] for VoiceMail(%s)", context, aritest.FallbackMailbox)
		require.NotEmpty(t, box[mailbox], "no mailbox %s in [%s]", mailbox, context)
		require.Contains(t, box[mailbox], "attach=no", "no e-mail with citizens' messages")
	})

	t.Run("pjsip.conf", func(t *testing.T) {
		t.Parallel()
		conf := parseAsteriskConf(t, filepath.Join(dir, "pjsip.conf"))
		require.NotEmpty(t, cfg.Agents)
		for _, a := range cfg.Agents {
			tech, name, ok := strings.Cut(a.Endpoint, "/")
			require.True(t, ok)
			require.Equal(t, "PJSIP", tech, "agent %s", a.ID)
			ep := sectionOfType(conf, name, "endpoint")
			require.NotNil(t, ep, "pjsip.conf has no endpoint %s (agent %s)", name, a.ID)
			require.Equal(t, "agents-outbound", ep["context"])
			require.Equal(t, "agents-messages", ep["message_context"], "MESSAGE for agent %s", a.ID)
			require.Equal(t, "no", ep["direct_media"], "media must cross Asterisk to be recorded")
			aor := sectionOfType(conf, ep["aors"], "aor")
			require.NotNil(t, aor, "endpoint %s has no aor", name)
			require.NotEmpty(t, aor["qualify_frequency"])
			require.NotEqual(t, "0", aor["qualify_frequency"], "qualify for agent %s", a.ID)
			require.NotNil(t, sectionOfType(conf, ep["auth"], "auth"), "endpoint %s has no auth", name)
		}
		trunk := trunkEndpoint(cfg.Dialer)
		require.NotEmpty(t, trunk, "dialer.trunk %q", cfg.Dialer.Trunk)
		_, name, _ := strings.Cut(trunk, "/")
		ep := sectionOfType(conf, name, "endpoint")
		require.NotNil(t, ep, "pjsip.conf has no trunk endpoint %s (dialer.trunk)", name)
		require.Equal(t, "from-trunk", ep["context"])
	})
}

func sectionByName(all []*confSection, name string) map[string]string {
	for _, s := range all {
		if s.name == name && !s.template {
			return props(all, s)
		}
	}
	return nil
}

// extens joins the exten and same lines of a dialplan context.
func extens(all []*confSection, context string) string {
	var b strings.Builder
	for _, s := range all {
		if s.name != context {
			continue
		}
		for i, k := range s.keys {
			if k == "exten" || k == "same" {
				b.WriteString(s.vals[i] + "\n")
			}
		}
	}
	return b.String()
}

func TestSystemdUnitAndLogrotate(t *testing.T) {
	t.Parallel()
	unit := parseAsteriskConf(t, "../configs/systemd/hotline.service") // same INI shape; '#' lines are comments
	svc := sectionByName(unit, "Service")
	require.NotNil(t, svc)
	require.Equal(t, "hotline", svc["User"])
	require.Equal(t, "/usr/local/bin/hotline serve -config /etc/hotline/hotline.yaml", svc["ExecStart"])
	require.Equal(t, "/etc/hotline/hotline.env", svc["EnvironmentFile"])
	require.Equal(t, "on-failure", svc["Restart"])
	for k, v := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes"} {
		require.Equal(t, v, svc[k], k)
	}
	cfg := exampleConfig(t)
	require.Contains(t, svc["ReadWritePaths"], "/var/lib/hotline", "the data folder (store.path %s in the example, /var/lib/hotline/… on a server)", cfg.Store.Path)

	rot, err := os.ReadFile("../configs/logrotate/hotline")
	require.NoError(t, err)
	require.Contains(t, string(rot), "\n    copytruncate\n")
	require.Contains(t, string(rot), "/var/log/hotline/*.log {")
}
