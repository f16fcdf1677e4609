package textlang

import "strings"

// Zawgyi is the name recorded for text that arrived Zawgyi-encoded.
const Zawgyi = "zawgyi"

// Zawgyi is a font hack, not an encoding: it reuses Myanmar code points
// for other letters, stores vowel signs in the order they are drawn
// rather than spoken, and spends U+1060–U+1097 (Mon, Shan and Karen
// letters in Unicode) on stacked and variant glyphs. The rules below are
// the commonly published Zawgyi→Unicode mapping (the same ground the
// Rabbit converter and Google's myanmar-tools cover); they handle the
// letters Burmese messages are written with, not every rare glyph.

func isConsonant(r rune) bool {
	return r >= 0x1000 && r <= 0x1021 || r == 0x1025 || r == 0x1027 || r == 0x103F
}

// ZawgyiScore weighs the evidence in text: positive means Zawgyi,
// negative Unicode, zero no Burmese or no telling (many short words are
// the same bytes in both).
func ZawgyiScore(text string) int {
	rs := []rune(text)
	score := 0
	for i, r := range rs {
		var prev, next rune
		if i > 0 {
			prev = rs[i-1]
		}
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r >= 0x1060 && r <= 0x1097:
			// Zawgyi's stacked and variant glyphs; Burmese in Unicode
			// never uses this block.
			score += 2
		case r == 0x1031:
			// Zawgyi stores the e vowel before its consonant.
			if !isConsonant(prev) && !isMedialU(prev) && (isConsonant(next) || next == 0x103B) {
				score += 2
			} else if isConsonant(prev) || isMedialU(prev) {
				score--
			}
		case r == 0x1039:
			// Zawgyi's asat; in Unicode U+1039 stacks a consonant and
			// must be followed by one.
			if !isConsonant(next) {
				score += 2
			} else if prev == 0x101A || prev == 0x101B || prev == 0x101D || prev == 0x101F || prev == 0x1004 {
				score++
			}
		case r == 0x103B:
			// Zawgyi's medial ra comes before its consonant.
			if isConsonant(next) && !isConsonant(prev) {
				score += 2
			}
		case r == 0x103A:
			// Unicode's asat ends a syllable; Zawgyi's medial ya sits
			// between a consonant and a vowel.
			if next == 0x0020 || next == 0 || next == 0x104B || next == 0x104A || next == 0x1038 || next == 0x1037 {
				score--
			}
		case r == 0x1040 || r == 0x1047:
			// Zawgyi types zero and seven for wa and ra inside words.
			if prev == 0x1031 || next >= 0x102B && next <= 0x103A {
				score += 2
			}
		case r == 0x103E || r == 0x103F:
			score -= 2
		}
	}
	return score
}

func isMedialU(r rune) bool { return r >= 0x103B && r <= 0x103E }

// IsZawgyi reports whether text is Burmese typed in Zawgyi.
func IsZawgyi(text string) bool {
	if !strings.ContainsFunc(text, func(r rune) bool { return r >= 0x1000 && r <= 0x109F }) {
		return false
	}
	return ZawgyiScore(text) > 0
}

// kinzi marks where Zawgyi's kinzi was, until it is moved before its
// consonant. It is a private-use code point, never left in the output.
const kinzi = '\uE000'

// zgMap maps single Zawgyi code points onto Unicode sequences.
var zgMap = map[rune]string{
	0x1039: "\u103A", // asat
	0x103A: "\u103B", // medial ya
	0x103B: "\u103C", // medial ra
	0x107E: "\u103C", // medial ra, variants
	0x107F: "\u103C",
	0x1080: "\u103C",
	0x1081: "\u103C",
	0x1082: "\u103C",
	0x1083: "\u103C",
	0x1084: "\u103C",
	0x103C: "\u103D",       // medial wa
	0x103D: "\u103E",       // medial ha
	0x1087: "\u103E",       // medial ha, short
	0x108A: "\u103D\u103E", // wa + ha
	0x1088: "\u103E\u102F", // ha + u
	0x1089: "\u103E\u1030", // ha + uu
	0x1033: "\u102F",       // u, long form
	0x1034: "\u1030",       // uu, long form
	0x105A: "\u102B\u103A", // tall aa + asat
	0x1086: "\u103F",       // great sa
	0x106A: "\u1009",       // nya, variant
	0x106B: "\u100A",       // nnya, variant
	0x108F: "\u1014",       // na, short
	0x1090: "\u101B",       // ra, variant
	0x1094: "\u1037",       // dot below, variants
	0x1095: "\u1037",
	0x1064: string(kinzi),
	0x108B: string(kinzi) + "\u102D",
	0x108C: string(kinzi) + "\u102E",
	0x108D: string(kinzi) + "\u1036",
	// Stacked consonants: virama and the lower consonant.
	0x1060: "\u1039\u1000", 0x1061: "\u1039\u1001", 0x1062: "\u1039\u1002",
	0x1063: "\u1039\u1003", 0x1065: "\u1039\u1005", 0x1066: "\u1039\u1006",
	0x1067: "\u1039\u1006", 0x1068: "\u1039\u1007", 0x1069: "\u1039\u1008",
	0x106C: "\u1039\u100B", 0x106D: "\u1039\u100C", 0x1070: "\u1039\u100F",
	0x1071: "\u1039\u1010", 0x1072: "\u1039\u1010", 0x1073: "\u1039\u1011",
	0x1074: "\u1039\u1011", 0x1075: "\u1039\u1012", 0x1076: "\u1039\u1013",
	0x1077: "\u1039\u1014", 0x1078: "\u1039\u1015", 0x1079: "\u1039\u1016",
	0x107A: "\u1039\u1017", 0x107B: "\u1039\u1018", 0x107C: "\u1039\u1019",
	0x1085: "\u1039\u101C", 0x1093: "\u1039\u1018", 0x1096: "\u1039\u1010\u103D",
	0x106E: "\u100D\u1039\u100D", 0x106F: "\u100D\u1039\u100E",
	0x1091: "\u100F\u1039\u100D", 0x1092: "\u100B\u1039\u100C",
	0x1097: "\u100B\u1039\u100B",
}

// ZawgyiToUnicode converts Zawgyi-encoded Burmese to Unicode. Text that is
// not Zawgyi should not be passed; IsZawgyi tells.
func ZawgyiToUnicode(text string) string {
	in := []rune(text)
	// Zawgyi writes zero and seven for wa and ra inside words.
	for i, r := range in {
		if r != 0x1040 && r != 0x1047 {
			continue
		}
		letter := func(j int) bool { return j >= 0 && j < len(in) && in[j] >= 0x1000 && in[j] <= 0x103F }
		if letter(i-1) || letter(i+1) {
			if r == 0x1040 {
				in[i] = 0x101D
			} else {
				in[i] = 0x101B
			}
		}
	}
	var mapped []rune
	for _, r := range in {
		if s, ok := zgMap[r]; ok {
			mapped = append(mapped, []rune(s)...)
		} else {
			mapped = append(mapped, r)
		}
	}
	return string(reorder(mapped))
}

// reorder moves the e vowel, medial ra and kinzi from where Zawgyi draws
// them to where Unicode stores them, then puts marks in Unicode's order.
func reorder(rs []rune) []rune {
	out := make([]rune, 0, len(rs)+4)
	for i := 0; i < len(rs); {
		// One syllable head: [e] [ra] consonant [stack] [medials] [kinzi].
		j := i
		e := j < len(rs) && rs[j] == 0x1031
		if e {
			j++
		}
		ra := j < len(rs) && rs[j] == 0x103C
		if ra {
			j++
		}
		if (e || ra) && j < len(rs) && isConsonant(rs[j]) || !e && !ra && isConsonant(rs[i]) {
			c := rs[j]
			j++
			var tail []rune
			if ra {
				tail = append(tail, 0x103C)
			}
			for j < len(rs) {
				switch {
				case rs[j] == 0x1039 && j+1 < len(rs) && isConsonant(rs[j+1]):
					tail = append(tail, rs[j], rs[j+1])
					j += 2
					continue
				case isMedialU(rs[j]):
					tail = append(tail, rs[j])
					j++
					continue
				}
				break
			}
			hasKinzi := j < len(rs) && rs[j] == kinzi
			if hasKinzi {
				j++
				out = append(out, 0x1004, 0x103A, 0x1039)
			}
			out = append(out, c)
			out = append(out, sortMedials(tail)...)
			if e {
				out = append(out, 0x1031)
			}
			i = j
			continue
		}
		if rs[i] != kinzi {
			out = append(out, rs[i])
		}
		i++
	}
	s := string(out)
	for _, p := range [][2]string{
		{"\u103A\u1037", "\u1037\u103A"}, // dot below before asat
		{"\u102F\u102D", "\u102D\u102F"}, // upper vowel before lower
		{"\u1036\u102F", "\u102F\u1036"},
		{"\u1037\u102F", "\u102F\u1037"},
		{"\u1037\u102C", "\u102C\u1037"},
		{"\u1037\u1036", "\u1036\u1037"},
		{"\u1025\u102E", "\u1026"},
	} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return []rune(s)
}

// sortMedials puts a stack first, then the medials ya, ra, wa, ha.
func sortMedials(tail []rune) []rune {
	var stack, med []rune
	for i := 0; i < len(tail); i++ {
		if tail[i] == 0x1039 && i+1 < len(tail) {
			stack = append(stack, tail[i], tail[i+1])
			i++
			continue
		}
		med = append(med, tail[i])
	}
	for i := 1; i < len(med); i++ {
		for k := i; k > 0 && med[k] < med[k-1]; k-- {
			med[k], med[k-1] = med[k-1], med[k]
		}
	}
	return append(stack, med...)
}
