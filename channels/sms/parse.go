package sms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxParams bounds the parameters of one webhook request. Providers send
// a few dozen.
const maxParams = 200

// errMalformed is returned (wrapped) by the parsers for input that is not
// what a provider sends; its text is safe to show.
var errMalformed = errors.New("malformed request")

// parseForm parses an application/x-www-form-urlencoded body (or query)
// strictly: valid escapes and UTF-8, at most maxParams parameters.
func parseForm(s string) (url.Values, error) {
	if n := strings.Count(s, "&"); n >= maxParams {
		return nil, fmt.Errorf("%w: more than %d parameters", errMalformed, maxParams)
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("%w: form encoding: bad escape or separator", errMalformed)
	}
	for k, vals := range v {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("%w: parameter name is not UTF-8", errMalformed)
		}
		for _, x := range vals {
			if !utf8.ValidString(x) {
				return nil, fmt.Errorf("%w: parameter %s is not UTF-8", errMalformed, safeName(k))
			}
		}
	}
	return v, nil
}

// parseFlatJSON parses a JSON object whose values are strings, numbers,
// booleans or null into parameters, as providers send their JSON webhooks.
// Numbers keep their text; null is left out.
func parseFlatJSON(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON object", errMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", errMalformed)
	}
	if len(obj) > maxParams {
		return nil, fmt.Errorf("%w: more than %d fields", errMalformed, maxParams)
	}
	v := url.Values{}
	for k, x := range obj {
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		case json.Number:
			v.Set(k, x.String())
		case bool:
			if x {
				v.Set(k, "true")
			} else {
				v.Set(k, "false")
			}
		case nil:
		default:
			return nil, fmt.Errorf("%w: field %s is not a string, number or boolean", errMalformed, safeName(k))
		}
	}
	return v, nil
}

// single returns the one value of key, "" if absent; a repeated key is an
// error, since which value counts would be a guess.
func single(v url.Values, key string) (string, error) {
	switch len(v[key]) {
	case 0:
		return "", nil
	case 1:
		return v[key][0], nil
	}
	return "", fmt.Errorf("%w: parameter %s given more than once", errMalformed, key)
}

// checkPhone checks that a sender address looks like a number or short
// name a provider gives: printable, short.
func checkPhone(field, s string) error {
	if s == "" {
		return fmt.Errorf("%w: no %s", errMalformed, field)
	}
	if len(s) > 64 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not a phone number", errMalformed, field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s is not a phone number", errMalformed, field)
		}
	}
	return nil
}

// safeName returns a parameter name fit for an error message: names are
// the provider's vocabulary, but an attacker chooses them, so only short
// plain ones are echoed.
func safeName(k string) string {
	if len(k) > 40 {
		return "(long name)"
	}
	for _, r := range k {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "(unusual name)"
		}
	}
	return k
}
