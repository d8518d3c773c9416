package recording

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
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

// wavFormat is what a WAV file's fmt chunk says.
type wavFormat struct {
	tag, channels uint16
	rate          uint32
	bitsPerSample uint16
}

// linear16 says the audio is 16-bit linear PCM, what encodeULawWAV reads.
func (f wavFormat) linear16() bool { return f.tag == 1 && f.bitsPerSample == 16 && f.channels > 0 }

// String describes the format for the log.
func (f wavFormat) String() string {
	return fmt.Sprintf("format %d, %d channels, %d Hz, %d bits", f.tag, f.channels, f.rate, f.bitsPerSample)
}

// readWAVHeader reads r up to the start of the data chunk.
func readWAVHeader(r io.Reader) (wavFormat, error) {
	var f wavFormat
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return f, errors.New("not a WAV file")
	}
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return f, errors.New("WAV file has no data chunk")
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		if string(ch[0:4]) == "data" {
			if f.rate == 0 {
				return f, errors.New("WAV file has no fmt chunk before its data")
			}
			return f, nil
		}
		if size > 1<<20 {
			return f, fmt.Errorf("WAV chunk %q of %d bytes before the data", ch[0:4], size)
		}
		body := make([]byte, size+size%2)
		if _, err := io.ReadFull(r, body); err != nil {
			return f, fmt.Errorf("WAV chunk %q: %w", ch[0:4], err)
		}
		if string(ch[0:4]) == "fmt " {
			if size < 16 {
				return f, errors.New("WAV fmt chunk too short")
			}
			f.tag = binary.LittleEndian.Uint16(body[0:])
			f.channels = binary.LittleEndian.Uint16(body[2:])
			f.rate = binary.LittleEndian.Uint32(body[4:])
			f.bitsPerSample = binary.LittleEndian.Uint16(body[14:])
		}
	}
}

// encodeULawWAV writes the 16-bit linear PCM WAV read from src to dst as a
// G.711 µ-law WAV of the same rate and channels (format tag 7, with the
// fact chunk non-PCM WAV files carry), and returns its size. The data runs
// to the end of src (the header's size may be wrong, as after a recorder
// that never fixed it); dst's sizes are written once the data is. A
// source that is not 16-bit linear PCM is an error, nothing written.
func encodeULawWAV(dst *os.File, src io.Reader) (int64, error) {
	in := bufio.NewReaderSize(src, 64<<10)
	f, err := readWAVHeader(in)
	if err != nil {
		return 0, err
	}
	if !f.linear16() {
		return 0, fmt.Errorf("not 16-bit linear PCM: %s", f)
	}
	const header = 12 + 8 + 18 + 8 + 4 + 8 // RIFF, fmt (18), fact, data
	if _, err := dst.Write(make([]byte, header)); err != nil {
		return 0, err
	}
	out := bufio.NewWriterSize(dst, 64<<10)
	var samples int64
	var pair [2]byte
	for {
		if _, err := io.ReadFull(in, pair[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // a trailing odd byte is no sample
			}
			return 0, err
		}
		if err := out.WriteByte(linearToULaw(int16(binary.LittleEndian.Uint16(pair[:])))); err != nil {
			return 0, err
		}
		samples++
	}
	if samples%2 == 1 { // chunks are padded to an even size
		if err := out.WriteByte(0); err != nil {
			return 0, err
		}
	}
	if err := out.Flush(); err != nil {
		return 0, err
	}
	h := make([]byte, 0, header)
	le := binary.LittleEndian
	size := header + samples + samples%2
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(size-8))
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
	h = le.AppendUint32(h, uint32(samples))
	if _, err := dst.WriteAt(h, 0); err != nil {
		return 0, err
	}
	return size, nil
}

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
