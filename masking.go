package hotline

import "regexp"

// numberRun is a run of digits long enough to be a phone number.
var numberRun = regexp.MustCompile(`\d{7,}`)

// MaskNumbersIn masks every phone-number-like run of 7 or more digits in
// free text (a violation's detail, a note) with MaskNumber.
func MaskNumbersIn(text string) string {
	return numberRun.ReplaceAllStringFunc(text, MaskNumber)
}
