package hotline_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

func wantMobile(number string) hotline.PhoneNumber {
	return hotline.PhoneNumber{Number: number, Kind: hotline.NumberMobile, Callable: true}
}

func wantLandline(number, area string) hotline.PhoneNumber {
	return hotline.PhoneNumber{Number: number, Kind: hotline.NumberLandline, AreaCode: area, Callable: true}
}

func wantShortCode(code string) hotline.PhoneNumber {
	return hotline.PhoneNumber{Kind: hotline.NumberService, Reason: code + " is a service number, not a citizen to call back"}
}

func wantInternational(e164 string) hotline.PhoneNumber {
	return hotline.PhoneNumber{Kind: hotline.NumberInternational,
		Reason: "not a Chinese number (" + e164 + "): the trunk dials only numbers in mainland China"}
}

func wantInvalid(reason string) hotline.PhoneNumber {
	return hotline.PhoneNumber{Kind: hotline.NumberInvalid, Reason: reason}
}

var wantWithheld = hotline.PhoneNumber{Kind: hotline.NumberWithheld, Reason: "caller withheld the number"}

// normalizeCases also seed FuzzNormalizeNumber. Raw is filled in from raw.
var normalizeCases = []struct {
	raw  string
	want hotline.PhoneNumber
}{
	// mobile, in every dress it arrives in
	{"13800138000", wantMobile("13800138000")},
	{" 19912345678 ", wantMobile("19912345678")},
	{"+86 138 0013 8000", wantMobile("13800138000")},
	{"0086-138-0013-8000", wantMobile("13800138000")},
	{"8613800138000", wantMobile("13800138000")},
	{"013800138000", wantMobile("13800138000")},
	{"+86 (0)138 0013 8000", wantMobile("13800138000")},
	{"138.0013.8000", wantMobile("13800138000")},
	{"１３８００１３８０００", wantMobile("13800138000")},
	{"＋８６　１３８－００１３－８０００", wantMobile("13800138000")},
	{"sip:13800138000@10.0.0.1", wantMobile("13800138000")},
	{"SIP:+8613800138000@10.0.0.1:5060;transport=udp", wantMobile("13800138000")},
	{"tel:+8613800138000", wantMobile("13800138000")},
	{"tel:+86-138-0013-8000;phone-context=+86", wantMobile("13800138000")},

	// landline with area code
	{"010-12345678", wantLandline("01012345678", "010")},
	{"(0755)12345678", wantLandline("075512345678", "0755")},
	{"+86 755 1234 5678", wantLandline("075512345678", "0755")},
	{"0434-3221234", wantLandline("04343221234", "0434")},
	{"0431-8888 6666", wantLandline("043188886666", "0431")},
	{"0086 10 8888 9999", wantLandline("01088889999", "010")},
	{"862087654321", wantLandline("02087654321", "020")},
	{"8602087654321", wantLandline("02087654321", "020")},
	{"（０２１）６２３４５６７８", wantLandline("02162345678", "021")},

	// local landline: no area code, dialed as is
	{"62345678", wantLandline("62345678", "")},
	{"3221234", wantLandline("3221234", "")},
	{"86123456", wantLandline("86123456", "")},

	// service numbers: short codes are not called back, 400/800 are
	{"12345", wantShortCode("12345")},
	{"110", wantShortCode("110")},
	{"119", wantShortCode("119")},
	{"120", wantShortCode("120")},
	{"122", wantShortCode("122")},
	{"12315", wantShortCode("12315")},
	{"10086", wantShortCode("10086")},
	{"95588", wantShortCode("95588")},
	{"96110", wantShortCode("96110")},
	{"+86 12345", wantShortCode("12345")},
	{"4008123123", hotline.PhoneNumber{Number: "4008123123", Kind: hotline.NumberService, Callable: true}},
	{"400-812-3123", hotline.PhoneNumber{Number: "4008123123", Kind: hotline.NumberService, Callable: true}},
	{"+86 400 812 3123", hotline.PhoneNumber{Number: "4008123123", Kind: hotline.NumberService, Callable: true}},
	{"800-820-8820", hotline.PhoneNumber{Number: "8008208820", Kind: hotline.NumberService, Callable: true}},

	// abroad, Hong Kong and Taiwan included
	{"+1 415 555 0100", wantInternational("+14155550100")},
	{"00852 2123 4567", wantInternational("+85221234567")},
	{"+886 2 2345 6789", wantInternational("+886223456789")},

	// withheld
	{"", wantWithheld},
	{"   ", wantWithheld},
	{"anonymous", wantWithheld},
	{"Anonymous", wantWithheld},
	{"unknown", wantWithheld},
	{"restricted", wantWithheld},
	{"private", wantWithheld},
	{"withheld", wantWithheld},
	{"unavailable", wantWithheld},
	{"0", wantWithheld},
	{"-", wantWithheld},
	{"<unknown>", wantWithheld},
	{"sip:anonymous@anonymous.invalid", wantWithheld},

	// invalid
	{"abc", wantInvalid(`not a phone number: 'a' is not a digit`)},
	{"13800138000 ext 12", wantInvalid(`not a phone number: 'e' is not a digit`)},
	{"sip:foo@bar", wantInvalid(`not a phone number: 'f' is not a digit`)},
	{"sip:10.0.0.1", wantInvalid("SIP address without a number before the @")},
	{"138+0013+8000", wantInvalid(`not a phone number: "+" inside the number`)},
	{"+", wantInvalid("no number after the international prefix")},
	{"+86", wantInvalid("no number after the country code +86")},
	{"0012345", wantInvalid("too short for an international number (5 digits)")},
	{"0001234567", wantInvalid("not a phone number: country codes do not start with 0")},
	{"+1 " + strings.Repeat("5", 20), wantInvalid("too long for an international number (21 digits, at most 15)")},
	{"1380013800", wantInvalid("not a mobile number: 10 digits, mobile numbers have 11")},
	{"+86 1380013800", wantInvalid("not a mobile number: 10 digits, mobile numbers have 11")},
	{"138001380001", wantInvalid("not a mobile number: 12 digits, mobile numbers have 11")},
	{"12345678901", wantInvalid("not a mobile number: mobile numbers start with 13 to 19")},
	{"8888", wantInvalid("too short for a landline (4 digits; a local number has 7 or 8)")},
	{"010-123456", wantInvalid("too short for a landline: 010 needs a 7- or 8-digit subscriber number, got 6 digits")},
	{"0755-123456789", wantInvalid("too long for a landline: 0755 takes a 7- or 8-digit subscriber number, got 9 digits")},
	{"987654321", wantInvalid("9 digits: too long for a local number, and no area code (area codes start with 0)")},
	{"8612345678", wantInvalid("10 digits: too long for a local number, and no area code (area codes start with 0)")},
	{strings.Repeat("2", 30), wantInvalid("too long for a Chinese number (30 digits)")},
	{strings.Repeat("13800138000", 3), wantInvalid("not a mobile number: 33 digits, mobile numbers have 11")},
}

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range normalizeCases {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			want := tc.want
			want.Raw = tc.raw
			require.Equal(t, want, hotline.NormalizeNumber(tc.raw))
		})
	}
}

func TestPhoneNumberStringIsDialableFormOrRaw(t *testing.T) {
	t.Parallel()
	require.Equal(t, "13800138000", hotline.NormalizeNumber("+86 138-0013-8000").String())
	require.Equal(t, "075512345678", hotline.NormalizeNumber("(0755) 1234 5678").String())
	require.Equal(t, "Anonymous", hotline.NormalizeNumber("Anonymous").String())
	require.Equal(t, "+1 415 555 0100", hotline.NormalizeNumber("+1 415 555 0100").String())
	require.Equal(t, "110", hotline.NormalizeNumber("110").String())
}

func TestNumberKindString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "mobile", hotline.NumberMobile.String())
	require.Equal(t, "landline", hotline.NumberLandline.String())
	require.Equal(t, "service", hotline.NumberService.String())
	require.Equal(t, "international", hotline.NumberInternational.String())
	require.Equal(t, "withheld", hotline.NumberWithheld.String())
	require.Equal(t, "invalid", hotline.NumberInvalid.String())
}

func TestMaskNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"13800138000", "138****8000"},
		{"01012345678", "010****5678"},
		{"075512345678", "075****5678"},
		{"12345", "***45"},
		{"110", "***"},
		{"+8613800138000", "+86****8000"},
	} {
		require.Equal(t, tc.want, hotline.MaskNumber(tc.in), tc.in)
	}
}
