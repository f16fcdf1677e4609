package sms

import "unicode/utf16"

// An SMS carries 140 bytes: 160 characters of the GSM 03.38 alphabet
// (7 bits each) or 70 UTF-16 code units (UCS-2) once any character is
// outside it. A longer text is split into parts that each give up a few
// characters to the concatenation header: 153 GSM-7 characters or 67
// UCS-2 units a part.
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended are the
// characters reached through its escape, which take two septets.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// Encoding is how an SMS text is sent.
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Size is what one text costs as SMS.
type Size struct {
	Encoding Encoding
	// Units is the text's length in its encoding: septets for GSM-7,
	// UTF-16 code units for UCS-2.
	Units    int
	Segments int
}

// Measure returns the encoding a text needs and how many SMS segments it
// takes. The empty text takes one.
func Measure(text string) Size {
	septets, gsm := 0, true
	for _, r := range text {
		switch {
		case containsRune(gsmBasic, r):
			septets++
		case containsRune(gsmExtended, r):
			septets += 2
		default:
			gsm = false
		}
		if !gsm {
			break
		}
	}
	if gsm {
		return Size{Encoding: GSM7, Units: septets, Segments: segments(septets, gsmSingle, gsmPart)}
	}
	units := len(utf16.Encode([]rune(text)))
	return Size{Encoding: UCS2, Units: units, Segments: segments(units, ucs2Single, ucs2Part)}
}

func segments(n, single, part int) int {
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
