package crypto

import "math/bits"

// minPaddedSize is the smallest size a padded plaintext takes. Most distress
// messages are short; putting all of them in one bucket means a one-word
// "help" looks exactly like a long paragraph.
const minPaddedSize = 1024

// PaddedSize returns the size a plaintext of n bytes is padded to.
//
// It uses the Padmé scheme (Nikitin et al., "Reducing Metadata Leakage from
// Encrypted Files and Communication with PURBs", 2019): a length L is rounded
// up so that only its top O(log log L) bits remain significant. The overhead
// is at most about 12% and the number of distinct sizes grows only
// logarithmically, far better than power-of-two buckets (up to 100%
// overhead) for large attachments, while leaking about as little.
func PaddedSize(n int64) int64 {
	if n <= minPaddedSize {
		return minPaddedSize
	}
	e := 63 - bits.LeadingZeros64(uint64(n)) // floor(log2 n)
	s := 64 - bits.LeadingZeros64(uint64(e)) // floor(log2 e) + 1
	lastBits := e - s
	mask := int64(1)<<lastBits - 1
	return (n + mask) &^ mask
}
