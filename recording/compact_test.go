package recording

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// uLawToLinear decodes one G.711 µ-law byte (the reference decoder).
func uLawToLinear(u byte) int16 {
	u = ^u
	t := (int32(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func TestULawCodec(t *testing.T) {
	t.Parallel()
	// G.711's fixed points: silence, and the loudest of each sign.
	require.Equal(t, byte(0xff), linearToULaw(0))
	require.Equal(t, byte(0x80), linearToULaw(32767))
	require.Equal(t, byte(0x00), linearToULaw(-32768))
	// Every code but negative zero decodes to a value that encodes back to it.
	for u := 0; u < 256; u++ {
		if u == 0x7f {
			continue
		}
		require.Equal(t, byte(u), linearToULaw(uLawToLinear(byte(u))), "code %#x", u)
	}
	// Every sample comes back within its segment's step (µ-law keeps
	// about 13 bits of dynamic range, 8 bits a sample).
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		got := int(uLawToLinear(linearToULaw(int16(s))))
		step := max(8, abs(s)/16)
		require.LessOrEqual(t, abs(got-min(max(s, -32635), 32635)), step, "sample %d decodes to %d", s, got)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pcmWAV is a mono 8 kHz 16-bit WAV of samples, as Asterisk writes it,
// with a LIST chunk before the data as some tools write.
func pcmWAV(samples []int16) []byte {
	le := binary.LittleEndian
	data := make([]byte, 0, 2*len(samples))
	for _, s := range samples {
		data = le.AppendUint16(data, uint16(s))
	}
	b := []byte("RIFF")
	b = le.AppendUint32(b, uint32(4+24+8+4+8+len(data)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, 8000)
	b = le.AppendUint32(b, 16000)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 16)
	b = append(b, "LIST"...)
	b = le.AppendUint32(b, 4)
	b = append(b, "INFO"...)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// tone is seconds of a 440 Hz tone at 8 kHz.
func tone(seconds float64) []int16 {
	out := make([]int16, int(seconds*8000))
	for i := range out {
		out[i] = int16(12000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return out
}

// With recordings.format ulaw, a recording is archived as a µ-law WAV of
// half the size: its hash is the archived file's, its length is right,
// the audio is the same within µ-law's steps, and the player serves it.
func TestArchiveAsULaw(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.seedCall(t, "c1", "a1")
	spool := t.TempDir()
	samples := tone(1.5)
	require.NoError(t, os.WriteFile(filepath.Join(spool, "c1.wav"), pcmWAV(samples), 0o640))
	// Audio that is not 16-bit linear (here 8-bit) is archived as recorded.
	odd := pcmWAV(nil)
	binary.LittleEndian.PutUint16(odd[34:], 8)
	odd = append(odd, 1, 2, 3)
	require.NoError(t, os.WriteFile(filepath.Join(spool, "cb2-1.wav"), odd, 0o640))
	no := false
	f.cfg.SpoolDir, f.cfg.Format, f.cfg.DeleteFromAsterisk = spool, FormatULaw, &no
	a, err := NewArchiver(f.cfg, f.deps)
	require.NoError(t, err)
	for name, call := range map[string]string{"c1": "c1", "cb2-1": ""} {
		require.NoError(t, a.Finished(f.ctx, name, call, t0))
	}
	if n, err := a.runOnce(f.ctx); err != nil || n != 2 {
		t.Fatalf("archived %d of 2: %v", n, err)
	}

	rec, err := f.db.GetRecording(f.ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, [2]string{string(hotline.RecordingArchived), FormatULaw}, [2]string{string(rec.State), rec.Format})
	archived, err := os.ReadFile(filepath.Join(f.cfg.ArchiveDir, "c1.wav"))
	require.NoError(t, err)
	require.Equal(t, int64(len(archived)), rec.SizeBytes)
	require.Equal(t, 58+len(samples), len(archived), "header, then a byte a sample")
	sum := sha256.Sum256(archived)
	require.Equal(t, hex.EncodeToString(sum[:]), rec.SHA256)
	require.InDelta(t, 1.5, rec.Duration, 0.001)
	le := binary.LittleEndian
	require.Equal(t, "RIFF", string(archived[0:4]))
	require.Equal(t, uint32(len(archived)-8), le.Uint32(archived[4:]))
	require.Equal(t, uint16(7), le.Uint16(archived[20:]), "WAVE_FORMAT_MULAW")
	require.Equal(t, uint32(8000), le.Uint32(archived[28:]), "bytes a second")
	require.Equal(t, "fact", string(archived[38:42]))
	require.Equal(t, uint32(len(samples)), le.Uint32(archived[46:]))
	require.Equal(t, "data", string(archived[50:54]))
	for i, s := range samples {
		require.InDelta(t, float64(s), float64(uLawToLinear(archived[58+i])), float64(max(8, abs(int(s))/16)), "sample %d", i)
	}

	kept, err := f.db.GetRecording(f.ctx, "cb2-1")
	require.NoError(t, err)
	require.Equal(t, FormatWAV, kept.Format)
	got, err := os.ReadFile(filepath.Join(f.cfg.ArchiveDir, "cb2-1.wav"))
	require.NoError(t, err)
	require.Equal(t, odd, got)

	f.seedStaff(t, "s1", hotline.RoleSupervisor)
	w, err := f.listen(t, f.player(t), "c1", "s1", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "audio/wav", w.Header().Get("Content-Type"))
	require.Equal(t, archived, w.Body.Bytes())
	require.Empty(t, w.Header().Get(IntegrityHeader), "the hash matches")
}

// A source whose header gives the wrong data size (a recorder that never
// fixed it) is encoded to its end: the archived header and hash are of
// the file as it ends up.
func TestULawOfAWrongHeaderSize(t *testing.T) {
	t.Parallel()
	samples := tone(0.5)
	for _, tc := range []struct {
		name     string
		dataSize uint32
	}{{"zero", 0}, {"too big", 0xffffffff}, {"one sample short", uint32(2*len(samples) - 2)}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := pcmWAV(samples)
			binary.LittleEndian.PutUint32(src[len(src)-2*len(samples)-4:], tc.dataSize)
			dst, err := os.Create(filepath.Join(t.TempDir(), "out.wav"))
			require.NoError(t, err)
			defer dst.Close()
			size, dur, sum, err := encodeULawWAV(dst, bytes.NewReader(src))
			require.NoError(t, err)
			archived, err := os.ReadFile(dst.Name())
			require.NoError(t, err)
			require.Equal(t, int64(len(archived)), size)
			require.Equal(t, 58+len(samples), len(archived))
			want := sha256.Sum256(archived)
			require.Equal(t, want[:], sum)
			require.Equal(t, uint32(len(samples)), binary.LittleEndian.Uint32(archived[54:]), "data size")
			require.Equal(t, 500*time.Millisecond, dur)
		})
	}
}
