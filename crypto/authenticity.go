package crypto

// Authenticity says whether an opened tip was sealed by a gateway that the
// key-holder trusts. A console decides it by checking the gateway's
// signature inside the envelope against the gateway keys its key-holder
// configured; anyone who can write to the queue can seal a tip to the
// key-holders' public recipients, but only a gateway can sign it.
type Authenticity int

const (
	// Unverified means the console has no gateway key to check against.
	Unverified Authenticity = iota
	// Authentic means a configured gateway key signed the tip.
	Authentic
	// Forged means the tip is unsigned, badly signed, or signed by a key
	// the key-holder did not configure. A forged tip is shown flagged,
	// never linked to other tips and never offered replies.
	Forged
)

// String returns "unverified", "authentic" or "forged".
func (a Authenticity) String() string {
	switch a {
	case Authentic:
		return "authentic"
	case Forged:
		return "forged"
	}
	return "unverified"
}
