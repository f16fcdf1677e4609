package parts_test

import (
	"fmt"

	"github.com/flarehq/flare/channels/sms/parts"
	"github.com/flarehq/flare/crypto"
)

// A console opens tips, sets the parts of concatenated SMS apart, and shows
// each message once.
func Example() {
	tips := []*crypto.Tip{ // as opened, in queue order
		{Text: "are held in the blue ", Part: &crypto.Part{Group: "q3v…", Index: 2, Total: 3}},
		{Text: "Ten of us ", Part: &crypto.Part{Group: "q3v…", Index: 1, Total: 3}},
		{Text: "a tip on its own"},
	}
	single, groups := parts.Partition(tips)
	for _, t := range single {
		fmt.Println(t.Text)
	}
	for _, g := range groups {
		m, err := parts.Join(g)
		if err != nil {
			continue
		}
		fmt.Printf("%s (complete: %v, missing %v)\n", m.Text, m.Complete, m.Missing)
	}
	// Output:
	// a tip on its own
	// Ten of us are held in the blue [… part 3 of 3 missing …] (complete: false, missing [3])
}
