package sms

import "unicode/utf8"

// Segment sizes of one SMS: 160 characters in the GSM 03.38 default
// alphabet (GSM-7, where the extension-table characters take two), or 70
// UTF-16 code units when any character needs UCS-2. A longer message is
// split into parts of 153 or 67, each a separate SMS on the source's phone.
const (
	gsm7SegmentChars = 160
	ucs2SegmentUnits = 70
	gsm7PartChars    = 153
	ucs2PartUnits    = 67
)

// gsm7Basic is the GSM 03.38 default alphabet; gsm7Extended is the
// extension table, whose characters are sent as escape + character.
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extended = "\f^{}\\[~]|€"
)

var gsm7Septets = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extended {
		m[r] = 2
	}
	return m
}()

// replyGSM7 reports whether text can be sent in the GSM-7 alphabet, and
// how many septets it takes.
func replyGSM7(text string) (septets int, ok bool) {
	for _, r := range text {
		n, in := gsm7Septets[r]
		if !in {
			return 0, false
		}
		septets += n
	}
	return septets, true
}

// replySegments returns how many SMS segments text is sent as, and
// whether it needs UCS-2 (Vonage: type=unicode).
func replySegments(text string) (segments int, ucs2 bool) {
	if text == "" {
		return 0, false
	}
	if n, ok := replyGSM7(text); ok {
		if n <= gsm7SegmentChars {
			return 1, false
		}
		return (n + gsm7PartChars - 1) / gsm7PartChars, false
	}
	units := 0
	for _, r := range text {
		units += utf8.RuneLen(r) / 4 // 0, or 1 for a rune outside the BMP
		units++
	}
	if units <= ucs2SegmentUnits {
		return 1, true
	}
	return (units + ucs2PartUnits - 1) / ucs2PartUnits, true
}
