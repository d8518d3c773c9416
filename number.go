package hotline

import (
	"fmt"
	"strings"
	"unicode"
)

// NumberKind says what a caller's number is, and so whether a missed call
// from it can be called back.
type NumberKind string

const (
	NumberMobile        NumberKind = "mobile"
	NumberLandline      NumberKind = "landline"
	NumberService       NumberKind = "service" // short codes, 95xxx/96xxx, 400/800
	NumberInternational NumberKind = "international"
	NumberWithheld      NumberKind = "withheld"
	NumberInvalid       NumberKind = "invalid"
)

func (k NumberKind) String() string { return string(k) }

// PhoneNumber is a caller ID read as a Chinese telephone number.
type PhoneNumber struct {
	Raw      string     // as received (caller ID from Asterisk)
	Number   string     // normalised national form for dialing back: mobile "13800138000", landline "01012345678" / "075512345678" (area code with trunk 0 + subscriber), service "4008123123"; "" when not callable
	Kind     NumberKind // mobile | landline | service | international | withheld | invalid
	AreaCode string     // landline area code with its leading 0, e.g. "010", "0755"
	Callable bool
	Reason   string // why not callable, in plain words; "" when callable
}

// String is the number to show: the dialable form when callable, else what
// the caller presented.
func (n PhoneNumber) String() string {
	if n.Callable {
		return n.Number
	}
	return n.Raw
}

const (
	withheldReason         = "caller withheld the number"
	mainlandCountryCode    = "86"
	minInternationalDigits = 7  // country code and the shortest national numbers, e.g. Niue: +683 and 4 digits
	maxInternationalDigits = 15 // E.164
	maxNationalDigits      = 12 // four-digit area code with trunk 0 and an 8-digit subscriber
)

// withheldWords are what Asterisk and SIP peers present instead of a number.
var withheldWords = map[string]bool{
	"anonymous": true, "unknown": true, "restricted": true, "private": true,
	"withheld": true, "unavailable": true, "<unknown>": true,
}

// NormalizeNumber reads a caller ID as a Chinese telephone number and says
// whether, and how, the hotline can call it back. It never fails: anything it
// cannot use comes back not Callable, with the Reason in plain words.
//
// Reading:
//   - Spaces, dashes, dots and parentheses are dropped, full-width ones too;
//     full-width digits (０-９) and plus (＋) count as ASCII ones.
//   - "sip:USER@host", "sips:…" and "tel:NUMBER" are read by their user part
//     or number; URI parameters after ";" are ignored. A SIP address with no
//     user part ("sip:10.0.0.1") is invalid.
//   - "", "0", separators alone, and the words anonymous, unknown, restricted,
//     private, withheld, unavailable and "<unknown>" (any case) are withheld.
//
// Prefixes:
//   - "+86" and "0086" are dropped; what follows is the national number
//     without its trunk 0 ("+86 755 …"), with it ("+86 (0)755 …"), or a
//     mobile.
//   - A bare "86" is dropped only when the whole number is not a national
//     number itself and what follows is a mobile or an area code with a
//     subscriber: "86…" may be a local number (8612345 stays local).
//   - A trunk 0 before a mobile ("013800138000") is dropped.
//   - "+" or "00" before any other country code is international: not
//     callable, because the trunk dials only numbers in mainland China;
//     Hong Kong (+852), Macao (+853) and Taiwan (+886) are international too.
//
// Kinds:
//   - Mobile: 11 digits starting 13–19.
//   - Landline: area code and a 7- or 8-digit subscriber. The area code is
//     010, 020–029, or 0 and three digits starting 3–9 (0755, 0434); it is
//     checked by shape, not against the list of allocated codes, because a
//     wrongly refused number loses a citizen's callback while a wrongly
//     accepted one costs one failed dial.
//   - Local landline: 7 or 8 digits starting 2–9, with no area code. Local
//     exchanges present local callers this way and the trunk dials them the
//     same way, so it is callable as is, with AreaCode "". The service does
//     not know its own area code, so the same phone presented as "3221234"
//     and "04343221234" gives two different Numbers.
//   - Service: short codes of 3–5 digits starting 1 (110, 119, 120, 122,
//     12345, 12315, 10086), 95xxx and 96xxx, and 10-digit 400/800 numbers.
//     Short codes are not callable: emergency numbers must never be dialed by
//     the callback dialer, and the public-service platforms behind the others
//     call out from an IVR that cannot route a callback to whoever called.
//     400/800 numbers are callable: they are the published line of a company
//     or institution, and one that called the hotline is owed its callback
//     like any citizen; its switchboard reaches it.
//   - Anything else is invalid: letters, a misplaced "+", too short, too
//     long, a mobile-looking number of the wrong length, an unknown area code.
//
// A callable Number normalises to itself with the same Kind.
func NormalizeNumber(raw string) PhoneNumber {
	n := classify(raw)
	n.Raw = raw
	return n
}

func classify(raw string) PhoneNumber {
	text := strings.TrimSpace(raw)
	if scheme, rest, ok := strings.Cut(text, ":"); ok {
		switch strings.ToLower(scheme) {
		case "tel":
			text, _, _ = strings.Cut(rest, ";")
		case "sip", "sips":
			user, _, hasUser := strings.Cut(rest, "@")
			if !hasUser {
				return invalid("SIP address without a number before the @")
			}
			text, _, _ = strings.Cut(user, ";")
		}
	}
	if withheldWords[strings.ToLower(strings.TrimSpace(text))] {
		return withheld()
	}
	digits, plus, reason := dialDigits(text)
	switch {
	case reason != "":
		return invalid(reason)
	case plus:
		return withCountryCode(digits)
	case digits == "" || digits == "0":
		return withheld()
	case strings.HasPrefix(digits, "00"):
		return withCountryCode(digits[2:])
	}
	return national(digits)
}

// dialDigits keeps the ASCII digits of text and reports a leading plus, or
// why text is not a number.
func dialDigits(text string) (digits string, plus bool, reason string) {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '+' || r == '＋':
			if plus || b.Len() > 0 {
				return "", false, "not a phone number: \"+\" inside the number"
			}
			plus = true
		case unicode.IsSpace(r) || strings.ContainsRune("-.()－．（）", r):
		default:
			return "", false, fmt.Sprintf("not a phone number: %q is not a digit", r)
		}
	}
	return b.String(), plus, ""
}

// withCountryCode reads digits that followed "+" or "00".
func withCountryCode(digits string) PhoneNumber {
	switch {
	case digits == "":
		return invalid("no number after the international prefix")
	case strings.HasPrefix(digits, mainlandCountryCode):
		return afterMainlandCode(digits[len(mainlandCountryCode):])
	case digits[0] == '0':
		return invalid("not a phone number: country codes do not start with 0")
	case len(digits) < minInternationalDigits:
		return invalid(fmt.Sprintf("too short for an international number (%d digits)", len(digits)))
	case len(digits) > maxInternationalDigits:
		return invalid(fmt.Sprintf("too long for an international number (%d digits, at most %d)", len(digits), maxInternationalDigits))
	}
	return PhoneNumber{Kind: NumberInternational,
		Reason: fmt.Sprintf("not a Chinese number (+%s): the trunk dials only numbers in mainland China", digits)}
}

// afterMainlandCode reads the national number that followed +86: a mobile,
// a service number, or an area code written with or without its trunk 0.
func afterMainlandCode(rest string) PhoneNumber {
	switch {
	case rest == "":
		return invalid("no number after the country code +86")
	case isMobile(rest) || isBusinessLine(rest) || isShortCode(rest) || rest[0] == '0':
		return national(rest)
	}
	return national("0" + rest)
}

// national reads a number in national form, as dialed inside China.
func national(d string) PhoneNumber {
	switch {
	case isMobile(d):
		return PhoneNumber{Number: d, Kind: NumberMobile, Callable: true}
	case d[0] == '0' && isMobile(d[1:]):
		return PhoneNumber{Number: d[1:], Kind: NumberMobile, Callable: true}
	case isBusinessLine(d):
		return PhoneNumber{Number: d, Kind: NumberService, Callable: true}
	case isShortCode(d):
		return PhoneNumber{Kind: NumberService, Reason: d + " is a service number, not a citizen to call back"}
	case d[0] == '0':
		return withAreaCode(d)
	case d[0] == '1':
		return invalid(notMobileReason(d))
	case len(d) < 7:
		return invalid(fmt.Sprintf("too short for a landline (%d digits; a local number has 7 or 8)", len(d)))
	case len(d) <= 8:
		return PhoneNumber{Number: d, Kind: NumberLandline, Callable: true}
	}
	if rest, ok := strings.CutPrefix(d, mainlandCountryCode); ok {
		if n := afterMainlandCode(rest); n.Kind == NumberMobile || n.Kind == NumberLandline {
			return n
		}
	}
	if len(d) > maxNationalDigits {
		return invalid(fmt.Sprintf("too long for a Chinese number (%d digits)", len(d)))
	}
	return invalid(fmt.Sprintf("%d digits: too long for a local number, and no area code (area codes start with 0)", len(d)))
}

// withAreaCode reads d, which starts with the trunk 0, as area code and
// subscriber.
func withAreaCode(d string) PhoneNumber {
	area := areaCode(d)
	switch {
	case area != "":
	case strings.HasPrefix(d, "01") && len(d) > 3:
		// Only 010 starts with 01, so this is a trunk 0 before a mistyped mobile.
		return invalid(notMobileReason(d[1:]))
	case len(d) < 4:
		return invalid(fmt.Sprintf("too short for a landline (%d digits)", len(d)))
	default:
		return invalid(fmt.Sprintf("unknown area code in %s", d))
	}
	switch subscriber := len(d) - len(area); {
	case subscriber < 7:
		return invalid(fmt.Sprintf("too short for a landline: %s needs a 7- or 8-digit subscriber number, got %d digits", area, subscriber))
	case subscriber > 8:
		return invalid(fmt.Sprintf("too long for a landline: %s takes a 7- or 8-digit subscriber number, got %d digits", area, subscriber))
	}
	return PhoneNumber{Number: d, Kind: NumberLandline, AreaCode: area, Callable: true}
}

// areaCode returns the area code at the start of d by its shape: 010,
// 020–029, or 0 and three digits starting 3–9; "" when there is none.
func areaCode(d string) string {
	switch {
	case len(d) < 3:
		return ""
	case d[1] == '1' && d[2] == '0', d[1] == '2':
		return d[:3]
	case d[1] >= '3' && len(d) >= 4:
		return d[:4]
	}
	return ""
}

func notMobileReason(d string) string {
	if len(d) != 11 {
		return fmt.Sprintf("not a mobile number: %d digits, mobile numbers have 11", len(d))
	}
	return "not a mobile number: mobile numbers start with 13 to 19"
}

// isMobile reports whether d is a mainland mobile number: 11 digits, 13–19.
func isMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// isBusinessLine reports whether d is a 400 or 800 number.
func isBusinessLine(d string) bool {
	return len(d) == 10 && (strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800"))
}

// isShortCode reports whether d is a public-service short code: 3–5 digits
// starting 1, or 95xxx/96xxx.
func isShortCode(d string) bool {
	switch {
	case d[0] == '1':
		return len(d) >= 3 && len(d) <= 5
	case strings.HasPrefix(d, "95") || strings.HasPrefix(d, "96"):
		return len(d) == 5
	}
	return false
}

func withheld() PhoneNumber {
	return PhoneNumber{Kind: NumberWithheld, Reason: withheldReason}
}

func invalid(reason string) PhoneNumber {
	return PhoneNumber{Kind: NumberInvalid, Reason: reason}
}

// MaskNumber hides the middle of a citizen's number for anyone who may not
// see it whole (personal data): "13800138000" → "138****8000",
// "01012345678" → "010****5678". Short numbers keep only their last two
// digits; "" stays "".
func MaskNumber(n string) string {
	r := []rune(n)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 4:
		return strings.Repeat("*", len(r))
	case len(r) <= 7:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}
