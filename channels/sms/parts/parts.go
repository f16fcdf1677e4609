// Package parts joins the pieces of a message that arrived, and was sealed,
// in parts — a concatenated SMS whose parts a provider delivers one by one,
// each sealed and queued as it came so that none is lost if the gateway
// stops between two of them.
//
// It works on decrypted tips only and never touches a queue or a key: the
// console opens the tips, groups the ones with a Part by Part.Group
// (Partition), and calls Join on each group to show one message. Join does
// not guess at order or content: parts are placed by their index, a part
// that never came is shown as missing, and a second copy of a part is
// dropped.
package parts

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/flarehq/flare/crypto"
)

// Segment is one place in a joined message: the part's text, or a gap.
type Segment struct {
	Index   int // 1-based
	Text    string
	Missing bool
	Tip     *crypto.Tip // nil when Missing
}

// Message is a message joined from its parts.
type Message struct {
	Group string
	// Total is how many parts the message has, as its parts say.
	Total int
	// Segments holds one entry per index 1..Total, in order.
	Segments []Segment
	// Text is the parts' texts in order, with MissingMarker in place of
	// each part that has not arrived.
	Text string
	// Missing lists the indices of the parts that have not arrived.
	Missing []int
	// Complete is true when every part arrived.
	Complete bool
	// Kind is the most urgent kind among the parts (a keyword may be in
	// any one of them).
	Kind crypto.Kind
	// First is the earliest-received part that arrived: the console shows
	// its sender, reply address and time for the whole message.
	First *crypto.Tip
	// Attachments are every part's attachments, in part order.
	Attachments []crypto.AttachmentRef
}

// MissingMarker returns the text put in place of a part that has not
// arrived.
func MissingMarker(index, total int) string {
	return fmt.Sprintf("[… part %d of %d missing …]", index, total)
}

// ErrMixedGroups is returned by Join for tips that are not all parts of
// one message.
var ErrMixedGroups = errors.New("parts: tips belong to different messages")

// maxTotal bounds the parts of one message (concatenated SMS carry at most
// 255).
const maxTotal = 255

// Join joins the parts of one message. Every tip must have a Part with the
// same Group. Parts may come in any order; a repeated index keeps the
// earliest-received copy.
func Join(tips []*crypto.Tip) (Message, error) {
	if len(tips) == 0 {
		return Message{}, errors.New("parts: no tips to join")
	}
	m := Message{Group: ""}
	byIndex := map[int]*crypto.Tip{}
	for _, t := range tips {
		if t == nil || t.Part == nil {
			return Message{}, fmt.Errorf("%w: a tip has no part", ErrMixedGroups)
		}
		if m.Group == "" {
			m.Group = t.Part.Group
		} else if t.Part.Group != m.Group {
			return Message{}, ErrMixedGroups
		}
		if t.Part.Index < 1 || t.Part.Index > maxTotal {
			return Message{}, fmt.Errorf("parts: part index %d out of range", t.Part.Index)
		}
		m.Total = max(m.Total, t.Part.Total, t.Part.Index)
		if prev, ok := byIndex[t.Part.Index]; !ok || t.Received.Before(prev.Received) {
			byIndex[t.Part.Index] = t
		}
		if m.First == nil || t.Received.Before(m.First.Received) {
			m.First = t
		}
	}
	m.Total = min(m.Total, maxTotal)
	m.Kind = crypto.KindOther
	var b strings.Builder
	for i := 1; i <= m.Total; i++ {
		t, ok := byIndex[i]
		if !ok {
			m.Segments = append(m.Segments, Segment{Index: i, Missing: true})
			m.Missing = append(m.Missing, i)
			b.WriteString(MissingMarker(i, m.Total))
			continue
		}
		m.Segments = append(m.Segments, Segment{Index: i, Text: t.Text, Tip: t})
		b.WriteString(t.Text)
		m.Attachments = append(m.Attachments, t.Attachments...)
		if urgency(t.Kind) < urgency(m.Kind) {
			m.Kind = t.Kind
		}
	}
	m.Text = b.String()
	m.Complete = len(m.Missing) == 0
	return m, nil
}

func urgency(k crypto.Kind) int {
	for i, x := range crypto.Kinds {
		if x == k {
			return i
		}
	}
	return len(crypto.Kinds)
}

// Partition splits tips into those that stand alone and the groups of
// parts (by Part.Group), each group ordered by part index. Groups are in
// the order their first tip appears in tips.
func Partition(tips []*crypto.Tip) (single []*crypto.Tip, groups [][]*crypto.Tip) {
	at := map[string]int{}
	for _, t := range tips {
		if t.Part == nil || t.Part.Group == "" {
			single = append(single, t)
			continue
		}
		i, ok := at[t.Part.Group]
		if !ok {
			i = len(groups)
			at[t.Part.Group] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], t)
	}
	for _, g := range groups {
		sort.SliceStable(g, func(a, b int) bool { return g[a].Part.Index < g[b].Part.Index })
	}
	return single, groups
}
