package schema_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline/ari/aritest/schema"
)

// traceRecord is one line of a recorded Asterisk 20.20.1 wire trace
// (testdata/ari-traces/README.md).
type traceRecord struct {
	Dir     string            `json:"dir"`
	Event   json.RawMessage   `json:"event"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func readTrace(t *testing.T, file string) []traceRecord {
	t.Helper()
	fh, err := os.Open(file)
	require.NoError(t, err)
	defer fh.Close()
	var records []traceRecord
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r traceRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "%s: %s", file, sc.Text())
		records = append(records, r)
	}
	require.NoError(t, sc.Err())
	return records
}

// wireBody turns a recorded body back into the bytes Asterisk sent: nothing
// for null, the text itself for a non-JSON (HTML) body, the JSON otherwise.
func wireBody(r traceRecord) []byte {
	if len(r.Body) == 0 || string(r.Body) == "null" {
		return nil
	}
	if ct := r.Headers["Content-type"]; ct != "" && !strings.HasPrefix(ct, "application/json") {
		var text string
		if json.Unmarshal(r.Body, &text) == nil {
			return []byte(text)
		}
	}
	return r.Body
}

// knownDifference is a place where Asterisk 20.20.1's recorded wire does not
// fit the Asterisk 22 schema.
type knownDifference struct {
	trace, method, path string
	status              int
	problem             string // a substring of the validator's error
}

// asterisk20Differences lists every such place. Every recorded event and
// every 2xx body fits the 22 schema exactly, tech_cause included (22 defines
// it on ChannelHangupRequest and ChannelDestroyed); only two error responses
// fall outside it.
var asterisk20Differences = []knownDifference{
	// res_ari answers a path it has no handler for with its usual
	// {"message": "Resource not found"}; the route is, by definition, not in
	// the schema.
	{trace: "11-errors.jsonl", method: "GET", path: "/ari/no/such/resource", status: 404, problem: schema.ErrUnknownRoute.Error()},
	// A websocket upgrade without ?app= is refused by Asterisk's HTTP server
	// (ast_http_error), not by res_ari: a text/html page, not a JSON envelope.
	{trace: "11-errors.jsonl", method: "GET", path: "/ari/events", status: 400, problem: "error 400: invalid JSON"},
}

func TestAsterisk20TracesFitSchema(t *testing.T) {
	t.Parallel()
	f := setup(t)
	files, err := filepath.Glob("../testdata/ari-traces/*.jsonl")
	require.NoError(t, err)
	require.Len(t, files, 12)

	used := map[knownDifference]bool{}
	events, responses := 0, 0
	for _, file := range files {
		trace := filepath.Base(file)
		var request traceRecord
		for i, r := range readTrace(t, file) {
			where := fmt.Sprintf("%s line %d", trace, i+1)
			switch r.Dir {
			case "event":
				events++
				require.NoError(t, f.schema.ValidateEvent(r.Event), where)
			case "request":
				request = r
			case "response":
				if isRecordingDownload(request, r) {
					continue // the trace keeps a placeholder, not the audio
				}
				responses++
				err := f.schema.ValidateResponse(request.Method, request.Path, r.Status, wireBody(r))
				if err == nil {
					continue
				}
				diff := knownDifference{trace: trace, method: request.Method, path: request.Path, status: r.Status}
				matched := false
				for _, known := range asterisk20Differences {
					if known.trace == diff.trace && known.method == diff.method && known.path == diff.path && known.status == diff.status && strings.Contains(err.Error(), known.problem) {
						used[known], matched = true, true
					}
				}
				require.True(t, matched, "%s: %s %s %d: %v", where, request.Method, request.Path, r.Status, err)
			}
		}
	}
	require.Len(t, used, len(asterisk20Differences), "every known difference must still occur in the traces")
	require.Equal(t, 260, events, "events recorded in the traces")
	require.Equal(t, 132, responses, "responses recorded in the traces, the recording download aside")
}

func isRecordingDownload(request, response traceRecord) bool {
	return request.Method == "GET" && strings.HasSuffix(request.Path, "/file") && response.Status == 200 &&
		bytes.HasPrefix(response.Body, []byte(`"<audio/`))
}
