package recording

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Archive formats (recordings.format). Asterisk records 16-bit linear PCM
// at 8 kHz ("wav", 16 KB a second: 57.6 MB a recorded hour). "ulaw"
// re-encodes it at archive time as G.711 µ-law in a WAV file (8 KB a
// second: 28.8 MB an hour), the telephone network's own coding of the
// same 8 kHz audio, which browsers play from an <audio> element as they
// play the linear WAV. Both archive as NAME.wav; the recordings row names
// the format.
const (
	FormatWAV  = "wav"
	FormatULaw = "ulaw"
)

// BytesPerSecond is the size of a second of mono 8 kHz audio in each
// archive format, WAV header aside.
var BytesPerSecond = map[string]int{FormatWAV: 16000, FormatULaw: 8000}

// wavFormat is what a WAV file's fmt chunk says, and where its data is.
type wavFormat struct {
	tag, channels uint16
	rate          uint32
	byteRate      uint32
	bitsPerSample uint16
	// dataAt is the data's offset in the file; dataSize what the data
	// chunk's header says (a recorder that never fixed it says too much).
	dataAt, dataSize int64
}

// linear16 says the audio is 16-bit linear PCM, what encodeULawWAV reads.
func (f wavFormat) linear16() bool { return f.tag == 1 && f.bitsPerSample == 16 && f.channels > 0 }

// String describes the format for the log.
func (f wavFormat) String() string {
	return fmt.Sprintf("format %d, %d channels, %d Hz, %d bits", f.tag, f.channels, f.rate, f.bitsPerSample)
}

// duration is the length of a WAV file of size bytes with this header:
// the data chunk's size (no more than the file holds) over the byte rate.
func (f wavFormat) duration(size int64) (time.Duration, error) {
	if f.byteRate == 0 {
		return 0, errors.New("WAV file has no byte rate before its data")
	}
	data := max(0, min(f.dataSize, size-f.dataAt))
	return time.Duration(float64(data) / float64(f.byteRate) * float64(time.Second)), nil
}

// readWAVHeader reads r up to the start of the data chunk.
func readWAVHeader(r io.Reader) (wavFormat, error) {
	var f wavFormat
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return f, errors.New("not a WAV file")
	}
	pos := int64(len(riff))
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return f, errors.New("WAV file has no data chunk")
		}
		pos += int64(len(ch))
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		if string(ch[0:4]) == "data" {
			if f.rate == 0 {
				return f, errors.New("WAV file has no fmt chunk before its data")
			}
			f.dataAt, f.dataSize = pos, size
			return f, nil
		}
		if size > 1<<20 {
			return f, fmt.Errorf("WAV chunk %q of %d bytes before the data", ch[0:4], size)
		}
		body := make([]byte, size+size%2)
		if _, err := io.ReadFull(r, body); err != nil {
			return f, fmt.Errorf("WAV chunk %q: %w", ch[0:4], err)
		}
		pos += int64(len(body))
		if string(ch[0:4]) == "fmt " {
			if size < 16 {
				return f, errors.New("WAV fmt chunk too short")
			}
			f.tag = binary.LittleEndian.Uint16(body[0:])
			f.channels = binary.LittleEndian.Uint16(body[2:])
			f.rate = binary.LittleEndian.Uint32(body[4:])
			f.byteRate = binary.LittleEndian.Uint32(body[8:])
			f.bitsPerSample = binary.LittleEndian.Uint16(body[14:])
		}
	}
}

// uLawHeaderSize is the size of the µ-law WAV header: RIFF, fmt (18
// bytes), fact, data.
const uLawHeaderSize = 12 + 8 + 18 + 8 + 4 + 8

// uLawHeader is the header of a µ-law WAV file of f's rate and channels
// holding samples.
func uLawHeader(f wavFormat, samples int64) []byte {
	h := make([]byte, 0, uLawHeaderSize)
	le := binary.LittleEndian
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(uLawHeaderSize+samples+samples%2-8))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 18)
	h = le.AppendUint16(h, 7) // WAVE_FORMAT_MULAW
	h = le.AppendUint16(h, f.channels)
	h = le.AppendUint32(h, f.rate)
	h = le.AppendUint32(h, f.rate*uint32(f.channels)) // a byte a sample
	h = le.AppendUint16(h, f.channels)                // block align
	h = le.AppendUint16(h, 8)                         // bits per sample
	h = le.AppendUint16(h, 0)                         // no extra format bytes
	h = append(h, "fact"...)
	h = le.AppendUint32(h, 4)
	h = le.AppendUint32(h, uint32(samples/int64(f.channels)))
	h = append(h, "data"...)
	return le.AppendUint32(h, uint32(samples))
}

// encodeULawWAV writes the 16-bit linear PCM WAV read from src to dst as a
// G.711 µ-law WAV of the same rate and channels (format tag 7, with the
// fact chunk non-PCM WAV files carry), and returns its size, its length and
// its SHA-256. The data runs to the end of src: the header is written
// first from the size src's header gives, and the file hashed as it is
// written; when src held another size (a recorder that never fixed its
// header), dst's header is corrected and the file hashed again from dst.
// A source that is not 16-bit linear PCM is an error, nothing written.
func encodeULawWAV(dst *os.File, src io.Reader) (size int64, dur time.Duration, sum []byte, err error) {
	in := bufio.NewReaderSize(src, 64<<10)
	f, err := readWAVHeader(in)
	if err != nil {
		return 0, 0, nil, err
	}
	if !f.linear16() {
		return 0, 0, nil, fmt.Errorf("not 16-bit linear PCM: %s", f)
	}
	h := sha256.New()
	out := bufio.NewWriterSize(io.MultiWriter(dst, h), 64<<10)
	expect := f.dataSize / 2
	if _, err := out.Write(uLawHeader(f, expect)); err != nil {
		return 0, 0, nil, err
	}
	table := uLawTable()
	var samples int64
	buf, coded := make([]byte, 32<<10), make([]byte, 16<<10)
	held := 0 // a sample's first byte left from the last read
	for {
		n, rerr := in.Read(buf[held:])
		n += held
		for i := range n / 2 {
			coded[i] = table[binary.LittleEndian.Uint16(buf[2*i:])]
		}
		if _, err := out.Write(coded[:n/2]); err != nil {
			return 0, 0, nil, err
		}
		samples += int64(n / 2)
		if held = n % 2; held == 1 { // a trailing odd byte waits for its pair (or is no sample)
			buf[0] = buf[n-1]
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return 0, 0, nil, rerr
		}
	}
	if samples%2 == 1 { // chunks are padded to an even size
		if err := out.WriteByte(0); err != nil {
			return 0, 0, nil, err
		}
	}
	if err := out.Flush(); err != nil {
		return 0, 0, nil, err
	}
	size = uLawHeaderSize + samples + samples%2
	dur = time.Duration(float64(samples) / float64(f.channels) / float64(f.rate) * float64(time.Second))
	if samples == expect {
		return size, dur, h.Sum(nil), nil
	}
	if _, err := dst.WriteAt(uLawHeader(f, samples), 0); err != nil {
		return 0, 0, nil, err
	}
	h.Reset()
	if _, err := io.Copy(h, io.NewSectionReader(dst, 0, size)); err != nil {
		return 0, 0, nil, err
	}
	return size, dur, h.Sum(nil), nil
}

// uLawTable is linearToULaw of every 16-bit sample, indexed by the
// sample's bits: a lookup a sample where the encoding takes a loop.
var uLawTable = sync.OnceValue(func() *[1 << 16]byte {
	var t [1 << 16]byte
	for i := range t {
		t[i] = linearToULaw(int16(uint16(i)))
	}
	return &t
})

// linearToULaw encodes one 16-bit linear sample as G.711 µ-law (ITU-T
// G.711, the bias-and-segment form): sign, 3-bit segment, 4-bit mantissa,
// all bits inverted.
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int32(s)
	sign := byte(0)
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	seg := byte(7)
	for mask := int32(0x4000); seg > 0 && x&mask == 0; mask >>= 1 {
		seg--
	}
	mantissa := byte(x>>(seg+3)) & 0x0f
	return ^(sign | seg<<4 | mantissa)
}
