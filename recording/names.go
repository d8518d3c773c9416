package recording

import (
	"hotline"
)

// MaxNameLen is the longest recording name accepted.
const MaxNameLen = hotline.MaxRecordingName

// ValidName checks a recording name that comes from outside (an API path,
// an ARI event): see hotline.ValidRecordingName.
func ValidName(name string) error { return hotline.ValidRecordingName(name) }
