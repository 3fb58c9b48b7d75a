// Package jsonstr appends JSON strings without allocating, for the
// hand-written error bodies of package middleware and its profiles.
package jsonstr

import "unicode/utf8"

// Append appends s to buf as a JSON string, escaping what JSON requires and
// also <, > and & so that the text is inert if a browser sniffs it as HTML.
// Invalid UTF-8 becomes U+FFFD.
func Append(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
