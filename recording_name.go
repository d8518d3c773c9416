package hotline

// MaxRecordingName is the longest recording name accepted.
const MaxRecordingName = 128

// ValidRecordingName checks a recording name that comes from outside (an
// API path, an ARI event): 1 to 128 characters of A-Z, a-z, 0-9, '.', '_'
// and '-', not starting with '.'. So a name is always one flat file name in
// the archive folder: no path separators, no "..", nothing hidden. The
// message quotes the name only when it is short.
func ValidRecordingName(name string) error {
	const op = "hotline.ValidRecordingName"
	if name == "" || len(name) > MaxRecordingName {
		return Errorf(KindInvalid, op, "recording name must be 1 to %d characters, not %d", MaxRecordingName, len(name))
	}
	if name[0] == '.' {
		return Errorf(KindInvalid, op, "recording name %q must not start with '.'", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return Errorf(KindInvalid, op, "recording name %q may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}
