package crypto

import "strings"

// bech32Encode encodes data as BIP 173 Bech32 with the human-readable part
// hrp, as age writes its keys. age keeps its own encoder internal, and it
// parses what this returns, so an identity derived here (see
// DeriveInboxIdentity) is an ordinary age identity. The checksum is
// computed over the lower-case form; an upper-case hrp gives an upper-case
// string, as age's secret keys are.
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	lower := strings.ToLower(hrp)
	values := convertBits8to5(data)
	check := bech32Checksum(lower, values)
	var b strings.Builder
	b.WriteString(lower)
	b.WriteByte('1')
	for _, v := range append(values, check...) {
		b.WriteByte(charset[v])
	}
	if hrp == strings.ToUpper(hrp) {
		return strings.ToUpper(b.String())
	}
	return b.String()
}

func convertBits8to5(data []byte) []byte {
	var out []byte
	acc, bits := uint32(0), uint(0)
	for _, b := range data {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits))&31)
	}
	return out
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func bech32Checksum(hrp string, data []byte) []byte {
	var values []byte
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]&31)
	}
	values = append(values, data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ 1
	out := make([]byte, 6)
	for i := range out {
		out[i] = byte(mod>>(5*(5-i))) & 31
	}
	return out
}
