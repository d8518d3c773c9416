package aritest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"
)

// Recordings are what Asterisk writes for format "wav": RIFF/WAVE, 8 kHz,
// 16-bit, mono. Each party sounds as its own steady tone while it is in
// the bridge; an empty bridge is silence.
const (
	sampleRate     = 8000
	wavHeaderBytes = 44
	toneAmplitude  = 8000
)

// tonePeriods are whole-sample periods, so each tone is a small table:
// 400, 500, 320, 667, 444, 571, 364 and 800 Hz.
var tonePeriods = []int{20, 16, 25, 12, 18, 14, 22, 10}

var toneTables = func() [][]int16 {
	tables := make([][]int16, len(tonePeriods))
	for i, period := range tonePeriods {
		t := make([]int16, period)
		for n := range t {
			t[n] = int16(toneAmplitude * math.Sin(2*math.Pi*float64(n)/float64(period)))
		}
		tables[i] = t
	}
	return tables
}()

// segment: from offset at on, the recording hears these tones (indices
// into toneTables, modulo their number).
type segment struct {
	at    time.Duration
	tones []int
}

// writeWAV renders length of audio from the timeline to path.
func writeWAV(path string, length time.Duration, timeline []segment) error {
	samples := int(length * sampleRate / time.Second)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	writeWAVHeader(w, samples)
	var (
		seg  = -1
		next = 0 // sample at which timeline[seg+1] starts
		buf  [2]byte
	)
	if len(timeline) > 0 {
		next = int(timeline[0].at * sampleRate / time.Second)
	} else {
		next = samples
	}
	for n := range samples {
		for n >= next && seg+1 < len(timeline) {
			seg++
			next = samples
			if seg+1 < len(timeline) {
				next = int(timeline[seg+1].at * sampleRate / time.Second)
			}
		}
		var v int
		if seg >= 0 && len(timeline[seg].tones) > 0 {
			tones := timeline[seg].tones
			for _, t := range tones {
				table := toneTables[t%len(toneTables)]
				v += int(table[n%len(table)])
			}
			v /= len(tones)
		}
		binary.LittleEndian.PutUint16(buf[:], uint16(int16(v)))
		_, _ = w.Write(buf[:]) // a bufio error sticks and surfaces at Flush
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func writeWAVHeader(w *bufio.Writer, samples int) {
	dataBytes := uint32(samples * 2)
	h := make([]byte, wavHeaderBytes)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataBytes)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // PCM fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)  // mono
	binary.LittleEndian.PutUint32(h[24:], sampleRate)
	binary.LittleEndian.PutUint32(h[28:], sampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataBytes)
	_, _ = w.Write(h) // a bufio error sticks and surfaces at Flush
}

// wavDuration is how long a recording of size bytes plays.
func wavDuration(size int64) time.Duration {
	if size <= wavHeaderBytes {
		return 0
	}
	return time.Duration(size-wavHeaderBytes) / 2 * time.Second / sampleRate
}
