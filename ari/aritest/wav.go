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

// writeWAV renders length of audio from the timeline to path. The fake
// does it under its lock as each recording ends, so it writes each
// segment's tones a period at a time rather than sample by sample: under
// overload thousands of recordings and voice messages end a minute.
func writeWAV(path string, length time.Duration, timeline []segment) error {
	samples := int(length * sampleRate / time.Second)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	writeWAVHeader(w, samples)
	// Silence before the first segment, then each segment up to the next.
	from := 0
	for i := -1; i < len(timeline); i++ {
		to := samples
		if i+1 < len(timeline) {
			to = min(samples, max(from, int(timeline[i+1].at*sampleRate/time.Second)))
		}
		var tones []int
		if i >= 0 {
			tones = timeline[i].tones
		}
		writeTones(w, from, to, tones)
		from = to
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

// maxPatternSamples bounds the repeating pattern writeTones builds; tones
// whose periods share no small multiple are written sample by sample.
const maxPatternSamples = 4096

// writeTones writes samples from to to (exclusive) of the mix of tones
// (silence when none): the mean of their tables at each sample's phase.
func writeTones(w *bufio.Writer, from, to int, tones []int) {
	if from >= to {
		return
	}
	period := 1
	for _, t := range tones {
		period = lcm(period, len(toneTables[t%len(toneTables)]))
		if period > maxPatternSamples {
			break
		}
	}
	if period > maxPatternSamples {
		var buf [2]byte
		for n := from; n < to; n++ {
			binary.LittleEndian.PutUint16(buf[:], uint16(toneSample(n, tones)))
			_, _ = w.Write(buf[:]) // a bufio error sticks and surfaces at Flush
		}
		return
	}
	// Whole periods of the mix (a few KB), starting at from's phase, repeated.
	n := period * max(1, 2048/period)
	pattern := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(pattern[2*i:], uint16(toneSample(from+i, tones)))
	}
	for left := 2 * (to - from); left > 0; {
		chunk := pattern[:min(left, len(pattern))]
		_, _ = w.Write(chunk) // a bufio error sticks and surfaces at Flush
		left -= len(chunk)
	}
}

// toneSample is sample n of the mix of tones.
func toneSample(n int, tones []int) int16 {
	if len(tones) == 0 {
		return 0
	}
	v := 0
	for _, t := range tones {
		table := toneTables[t%len(toneTables)]
		v += int(table[n%len(table)])
	}
	return int16(v / len(tones))
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
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
