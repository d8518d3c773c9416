package aritest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteWAVSamples checks every sample writeWAV writes against the
// timeline read sample by sample: each segment's tones from its start on,
// silence before the first.
func TestWriteWAVSamples(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		length   time.Duration
		timeline []segment
	}{
		{"silence", 300 * ms, nil},
		{"one tone", 700 * ms, []segment{{tones: []int{0}}}},
		{"late start and a gap", time.Second, []segment{{at: 120 * ms, tones: []int{2}}, {at: 500 * ms}, {at: 610 * ms, tones: []int{5}}}},
		{"two and three tones", 900 * ms, []segment{{tones: []int{0, 1}}, {at: 333 * ms, tones: []int{3, 6, 9}}}},
		{"periods without a small multiple", 400 * ms, []segment{{tones: []int{0, 1, 2, 3, 4, 5, 6, 7}}}},
		{"segments past the end", 200 * ms, []segment{{tones: []int{4}}, {at: 150 * ms, tones: []int{1}}, {at: 300 * ms, tones: []int{2}}}},
		{"two segments at once", 250 * ms, []segment{{at: 100 * ms, tones: []int{1}}, {at: 100 * ms, tones: []int{7}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.wav")
			require.NoError(t, writeWAV(path, tc.length, tc.timeline))
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			samples := int(tc.length * sampleRate / time.Second)
			require.Len(t, data, wavHeaderBytes+2*samples)
			assert.Equal(t, tc.length, wavDuration(int64(len(data))))
			for n := range samples {
				got := int16(binary.LittleEndian.Uint16(data[wavHeaderBytes+2*n:]))
				if want := sampleAt(n, tc.timeline); got != want {
					t.Fatalf("sample %d: %d, want %d", n, got, want)
				}
			}
		})
	}
}

// sampleAt is sample n of a recording of timeline, from its definition.
func sampleAt(n int, timeline []segment) int16 {
	var tones []int
	for _, s := range timeline {
		if int(s.at*sampleRate/time.Second) <= n {
			tones = s.tones
		}
	}
	if len(tones) == 0 {
		return 0
	}
	sum := 0
	for _, t := range tones {
		table := toneTables[t%len(toneTables)]
		sum += int(table[n%len(table)])
	}
	return int16(sum / len(tones))
}
