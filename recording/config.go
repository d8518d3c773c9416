package recording

import (
	"fmt"
	"time"
)

// Config is the "recordings" section of the service config.
type Config struct {
	// ArchiveDir is the folder archived recordings are written to, one file
	// per recording (NAME.wav). Required.
	ArchiveDir string `yaml:"archive_dir"`
	// SpoolDir, when set, is Asterisk's recordings folder on this machine:
	// files are read from there instead of downloaded over ARI.
	SpoolDir string `yaml:"spool_dir"`
	// VoicemailDir, when set, is the folder of the dialplan's fallback
	// mailbox hotline@hotline on this machine, normally
	// /var/spool/asterisk/voicemail/hotline/hotline: the messages citizens
	// leave in its INBOX while the service cannot take calls become missed
	// calls with the message archived and a callback task (see
	// VoiceMessages), every PollInterval. The service's user must be able to
	// read and delete there (group asterisk). Default none: not imported.
	VoicemailDir string `yaml:"voicemail_dir"`
	// DeleteFromAsterisk removes Asterisk's copy once archived. Default true.
	DeleteFromAsterisk *bool `yaml:"delete_from_asterisk"`
	// MaxAttempts is how many failed archive attempts mark a recording
	// failed. Default 8.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after the first failed attempt; it doubles after
	// each further one up to MaxBackoff. Defaults 10s and 30m.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// PollInterval is how often the archiver and retention look for work
	// besides being woken. Defaults 15s (archive) and 1h (retention:
	// RetentionInterval).
	PollInterval      time.Duration `yaml:"poll_interval"`
	RetentionInterval time.Duration `yaml:"retention_interval"`
	// Retention is how long audio is kept after the call. Default 3 years
	// (26280h).
	Retention time.Duration `yaml:"retention"`
	// FetchTimeout bounds one download. Default 2m.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// Batch is how many recordings one pass handles at most. Default 100.
	Batch int `yaml:"batch"`
	// BatchWait is how long the archiver waits, once a recording finished,
	// for others to finish before its pass, so that one claim and one
	// database write serve them all (each is stored pending at once, so a
	// crash meanwhile loses nothing); a pass that found a full batch is
	// followed by the next at once. Default 1s, or poll_interval when
	// shorter; at most poll_interval.
	BatchWait time.Duration `yaml:"batch_wait"`
	// Format is how recordings are archived: "wav", as Asterisk records
	// them (16-bit linear PCM, 8 kHz: 57.6 MB a recorded hour), or "ulaw",
	// re-encoded at archive time as G.711 µ-law WAV (28.8 MB an hour, the
	// telephone network's own coding; browsers play both). The SHA-256 is
	// of the archived file. Default "wav".
	Format string `yaml:"format"`
}

// DefaultRetention is three years.
const DefaultRetention = 3 * 365 * 24 * time.Hour

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.ArchiveDir == "" {
		c.ArchiveDir = "data/recordings"
	}
	if c.DeleteFromAsterisk == nil {
		t := true
		c.DeleteFromAsterisk = &t
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == 0 {
		c.Backoff = 10 * time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 15 * time.Second
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = time.Hour
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = 2 * time.Minute
	}
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.Format == "" {
		c.Format = FormatWAV
	}
	if c.BatchWait == 0 {
		c.BatchWait = min(time.Second, c.PollInterval)
	}
}

// Validate reports the first bad field, named by its YAML key under
// "recordings.".
func (c Config) Validate() error {
	switch {
	case c.ArchiveDir == "":
		return fmt.Errorf("recordings.archive_dir: required")
	case c.MaxAttempts < 1:
		return fmt.Errorf("recordings.max_attempts: must be at least 1")
	case c.Backoff <= 0:
		return fmt.Errorf("recordings.backoff: must be positive")
	case c.MaxBackoff < c.Backoff:
		return fmt.Errorf("recordings.max_backoff: must be at least recordings.backoff")
	case c.PollInterval <= 0:
		return fmt.Errorf("recordings.poll_interval: must be positive")
	case c.RetentionInterval <= 0:
		return fmt.Errorf("recordings.retention_interval: must be positive")
	case c.Retention < 24*time.Hour:
		return fmt.Errorf("recordings.retention: must be at least 24h")
	case c.FetchTimeout <= 0:
		return fmt.Errorf("recordings.fetch_timeout: must be positive")
	case c.Batch < 1:
		return fmt.Errorf("recordings.batch: must be at least 1")
	case c.BatchWait <= 0 || c.BatchWait > c.PollInterval:
		return fmt.Errorf("recordings.batch_wait: must be positive and at most recordings.poll_interval")
	case c.Format != FormatWAV && c.Format != FormatULaw:
		return fmt.Errorf("recordings.format: %q must be %q or %q", c.Format, FormatWAV, FormatULaw)
	}
	return nil
}
