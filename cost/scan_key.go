package cost

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Keys of the top-level object are compared with the records key as
// encoding/json would after decoding them, without allocating.

const (
	keyOther  = iota
	keySame   // the key
	keyFolded // the key but for case
)

// matchKey compares the raw (valid, unquoted) JSON string raw with key as
// encoding/json would after decoding it, using scratch to decode it.
func matchKey(raw, key, scratch []byte) int {
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if !plain {
		var ok bool
		// Case folding at most triples a rune's bytes (k and the
		// Kelvin sign), so a longer key cannot match.
		if raw, ok = decodeString(scratch, raw, 3*len(key)); !ok {
			return keyOther
		}
	}
	switch {
	case bytes.Equal(raw, key):
		return keySame
	case bytes.EqualFold(raw, key):
		return keyFolded
	}
	return keyOther
}

// decodeString decodes the valid JSON string raw into dst as encoding/json
// does (invalid UTF-8 and lone surrogates become U+FFFD), and reports false
// if it takes more than limit bytes.
func decodeString(dst, raw []byte, limit int) ([]byte, bool) {
	for i := 0; i < len(raw); {
		if len(dst) > limit {
			return nil, false
		}
		c := raw[i]
		switch {
		case c == '\\' && raw[i+1] == 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
					r = d
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
		case c == '\\':
			dst = append(dst, unescapeByte[raw[i+1]])
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst, len(dst) <= limit
}

// unescapeByte maps the letter of a one-letter escape to its byte.
var unescapeByte = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
