package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const twoServers = `
ari:
  password: shared
  connect_timeout: 2s
servers:
  - name: east
    ari: {url: "http://10.0.0.11:8088/ari"}
  - name: west
    ari: {url: "http://10.0.0.12:8088/ari", username: westuser, application: hl}
    trunk: PJSIP/%s@west
agents:
  - {id: "1001", name: A, endpoint: PJSIP/1001}
  - {id: "2001", name: B, endpoint: PJSIP/2001, server: west}
`

func TestServersInheritTheAriSectionAndAgentsDefaultToTheFirst(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(twoServers))
	require.NoError(t, err)
	list := cfg.ServerList()
	require.Len(t, list, 2)
	east, west := list[0], list[1]
	require.Equal(t, "shared", east.ARI.Password)
	require.Equal(t, 2*time.Second, east.ARI.ConnectTimeout, "left out: the ari section's")
	require.Equal(t, "hotline", east.ARI.Username, "neither says: the default")
	require.Equal(t, "ws://10.0.0.11:8088/ari/events", east.ARI.WebsocketURL, "derived from the server's own url")
	require.Equal(t, "PJSIP/%s@trunk", east.Trunk, "dialer.trunk's default")
	require.Equal(t, "hotline@10.0.0.11:8088", east.Lease)
	require.Equal(t, "westuser", west.ARI.Username)
	require.Equal(t, "PJSIP/%s@west", west.Trunk)
	require.Equal(t, "hl@10.0.0.12:8088", west.Lease)
	require.Equal(t, "east", cfg.Agents[0].Server)
	require.Equal(t, "west", cfg.Agents[1].Server)
	require.Equal(t, east.Lease, cfg.Lease.Name, "lease.name is the first server's, for hotline lease status")

	one, err := ParseConfig([]byte("ari: {password: x}\nagents:\n  - {id: \"1001\", name: A, endpoint: PJSIP/1001}\n"))
	require.NoError(t, err)
	require.Equal(t, []ServerConfig{{Name: "default", ARI: one.ARI, Trunk: one.Dialer.Trunk, Lease: "hotline@127.0.0.1:8088"}}, one.ServerList(),
		"without a servers list the ari section is the one server")
	require.Equal(t, "default", one.Agents[0].Server)
}

func TestServersConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown server of an agent", twoServers + "  - {id: \"3001\", name: C, endpoint: PJSIP/3001, server: north}\n",
			`line 14: agents[2].server: "north" is not a configured server (east, west)`},
		{"unknown server without a list", "ari: {password: x}\nagents:\n  - {id: \"1\", name: A, endpoint: PJSIP/1, server: east}\n",
			`agents[0].server: "east" is not a configured server (default)`},
		{"a name twice", "ari: {password: x}\nservers:\n  - {name: a, ari: {url: \"http://h1:1/ari\"}}\n  - {name: a, ari: {url: \"http://h2:1/ari\"}}\n",
			`servers[1].name: "a" is used twice`},
		{"a bad name", "ari: {password: x}\nservers:\n  - {name: \"a b\"}\n", `servers[0].name: "a b" must be 1 to 20 letters and digits`},
		{"one server twice", "ari: {password: x}\nservers:\n  - {name: a, ari: {url: \"http://h1:1/ari\"}}\n  - {name: b, ari: {url: \"http://h1:1/ari\"}}\n",
			`servers[1].lease: "hotline@h1:1" is also server a's`},
		{"a bad url", "ari: {password: x}\nservers:\n  - {name: a, ari: {url: \"nohost\"}}\n", `servers[0].ari.url: "nohost" is not an absolute URL`},
		{"a bad trunk", "ari: {password: x}\nservers:\n  - {name: a, trunk: nodial}\n", `servers[0].trunk: "nodial" must look like`},
		{"no password", "servers:\n  - {name: a}\n", `servers[0].ari.password: must not be empty (set HOTLINE_ARI_PASSWORD_A or HOTLINE_ARI_PASSWORD)`},
		{"lease.name beside a list", "ari: {password: x}\nlease: {name: mine}\nservers:\n  - {name: a}\n", `lease.name: with a servers list`},
		{"one mailbox twice", "ari: {password: x}\nrecordings: {voicemail_dir: /vm}\nservers:\n  - {name: a, ari: {url: \"http://h1:1/ari\"}}\n  - {name: b, ari: {url: \"http://h2:1/ari\"}, voicemail_dir: /vm}\n",
			`servers[1].voicemail_dir: "/vm" is also server a's`},
		{"unknown key", "ari: {password: x}\nservers:\n  - {name: a, lease_name: x}\n", `unknown key "servers[0].lease_name"`},
		{"one endpoint on two servers", twoServers + "  - {id: \"3001\", name: C, endpoint: PJSIP/1001, server: west}\n",
			`agents[2].endpoint: "PJSIP/1001" is also agent 1001's, on server east: an endpoint names one phone across all servers; ` +
				`give the phones on server west endpoint names of their own on that Asterisk (e.g. PJSIP/west-1001)`},
		{"one endpoint twice on a server", twoServers + "  - {id: \"3001\", name: C, endpoint: PJSIP/1001, server: east}\n",
			`agents[2].endpoint: "PJSIP/1001" is also agent 1001's`},
		{"one id twice", twoServers + "  - {id: \"1001\", name: C, endpoint: PJSIP/3001, server: west}\n", `agents[2].id: "1001" is used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tc.yaml))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestServerPasswordsComeFromTheirOwnVariableOrFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "west")
	require.NoError(t, os.WriteFile(file, []byte(" from-file\n"), 0o600))
	t.Setenv("HOTLINE_ARI_PASSWORD_EAST", "from-env")
	t.Setenv("HOTLINE_ARI_PASSWORD_WEST_FILE", file)
	cfg, err := ParseConfig([]byte(twoServers))
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.Servers[0].ARI.Password)
	require.Equal(t, "from-file", cfg.Servers[1].ARI.Password)
}

func TestLeaseCommandTellsEveryServersLease(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hotline.yaml")
	prefix := testKeyPrefix(t) + ":lease"
	cfg := twoServers + "lease: {key_prefix: \"" + prefix + "\"}\nredis: {url: \"" + os.Getenv("REDIS_URL") + "\"}\n"
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	var out strings.Builder
	require.NoError(t, LeaseCommand(t.Context(), "status", path, &out))
	require.Equal(t, "lease hotline@10.0.0.11:8088: nobody holds it; database none yet\n"+
		"lease hl@10.0.0.12:8088: nobody holds it; database none yet\n", out.String())
	out.Reset()
	require.NoError(t, LeaseCommand(t.Context(), "reset", path, &out))
	require.Equal(t, 2, strings.Count(out.String(), "forgotten"))
	require.ErrorContains(t, LeaseCommand(t.Context(), "take", path, &out), `unknown command "take"`)
}
