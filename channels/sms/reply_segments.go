package sms

// replySegments returns how many SMS segments a reply is sent as, and
// whether it needs UCS-2 (Vonage: type=unicode). Measure does the
// counting; the empty text is no segment at all.
func replySegments(text string) (segments int, ucs2 bool) {
	if text == "" {
		return 0, false
	}
	sz := Measure(text)
	return sz.Segments, sz.Encoding == UCS2
}
