package cost

import (
	"fmt"
	"unicode/utf8"
)

// countRecords returns the length of the array under key in the top-level
// object of the JSON value buf, 0 for null, for an object without key, or
// for a key whose value is null.
//
// It accepts exactly what encoding/json's Decoder walked token by token
// accepts (FuzzCountRecords checks this), in one pass that validates each
// record without decoding it. Keys are matched case-sensitively, as the
// upstream (Zoho CRM) reads them, while encoding/json's struct decoding
// folds case and keeps the last duplicate: {"data":[...],"Data":null} would
// have counted none of the records it writes. So a second key, or one that
// is key but for case, is an error: which one upstream reads is its
// parser's choice, not ours to guess.
func countRecords(buf, key []byte) (int64, error) {
	s := scanner{b: buf}
	s.space()
	if s.literal("null") {
		return 0, s.end()
	}
	if !s.take('{') {
		return 0, s.fail("body is not a JSON object")
	}
	n, err := s.object(key)
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// maxDepth is encoding/json's nesting limit, which its Decoder applies to
// each value it decodes: each record, each other top-level value.
const maxDepth = 10000

// scanner validates JSON in buf from offset i on.
type scanner struct {
	b     []byte
	i     int
	stack [(maxDepth + 63) / 64]uint64 // bit d: the container open at depth d is an object
}

type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func (s *scanner) fail(msg string) error {
	if s.i >= len(s.b) {
		msg = "unexpected end of JSON input"
	}
	return &syntaxError{msg, s.i}
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// take consumes c if it comes next.
func (s *scanner) take(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// end checks that only white space follows the top-level value.
func (s *scanner) end() error {
	if s.space(); s.i != len(s.b) {
		return s.fail("data after the JSON object")
	}
	return nil
}

// object reads the members of the top-level object after its brace and
// returns the length of key's array.
func (s *scanner) object(key []byte) (int64, error) {
	var n int64
	seen := false
	var arr [64]byte
	scratch := arr[:0] // for decoding escaped keys
	if need := 3*len(key) + utf8.UTFMax; need > len(arr) {
		scratch = make([]byte, 0, need)
	}
	if s.space(); s.take('}') {
		return 0, nil
	}
	for {
		s.space()
		start := s.i
		if err := s.str(); err != nil {
			return 0, err
		}
		raw := s.b[start:s.i]
		k := matchKey(raw[1:len(raw)-1], key, scratch)
		if err := s.colon(); err != nil {
			return 0, err
		}
		var err error
		switch k {
		case keySame:
			if seen {
				return 0, fmt.Errorf("key %q appears twice", key)
			}
			seen = true
			n, err = s.array()
		case keyFolded:
			return 0, fmt.Errorf("key %s is %q but for case", raw, key)
		default:
			err = s.value()
		}
		if err != nil {
			return 0, err
		}
		if s.space(); s.take('}') {
			return n, nil
		}
		if !s.take(',') {
			return 0, s.fail("expected ',' or '}' after object value")
		}
	}
}

// colon consumes the colon after a key (and the string before it has been
// read), with the spaces around it.
func (s *scanner) colon() error {
	if s.space(); !s.take(':') {
		return s.fail("expected ':' after object key")
	}
	s.space()
	return nil
}

// array reads key's value, null or an array, and returns its length.
func (s *scanner) array() (int64, error) {
	if s.literal("null") {
		return 0, nil
	}
	if !s.take('[') {
		return 0, s.fail("records value is not an array")
	}
	if s.space(); s.take(']') {
		return 0, nil
	}
	var n int64
	for {
		var err error
		// Scalars skip value's loop: {"data":[0,0,…]} is mostly them.
		if s.space(); s.i < len(s.b) && s.b[s.i]-'0' < 10 {
			err = s.number()
		} else {
			err = s.value()
		}
		if err != nil {
			return 0, err
		}
		n++
		if s.space(); s.take(']') {
			return n, nil
		}
		if !s.take(',') {
			return 0, s.fail("expected ',' or ']' after array element")
		}
	}
}

// value validates one JSON value and moves past it. It loops instead of
// recursing, with the open containers' kinds in a bit stack.
func (s *scanner) value() error {
	depth := 0
	for {
		s.space()
		if s.i >= len(s.b) {
			return s.fail("")
		}
		var err error
		switch c := s.b[s.i]; c {
		case '{', '[':
			if depth == maxDepth {
				return s.fail("exceeded max depth")
			}
			s.i++
			s.push(depth, c == '{')
			depth++
			if s.space(); s.take(c + 2) { // '}' and ']' are 2 past their opening
				depth--
				break
			}
			if c == '{' {
				if err := s.memberKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			err = s.str()
		case 't':
			err = s.word("true")
		case 'f':
			err = s.word("false")
		case 'n':
			err = s.word("null")
		default:
			err = s.number()
		}
		if err != nil {
			return err
		}
		if depth, err = s.close(depth); depth == 0 || err != nil {
			return err
		}
	}
}

// close follows a value at depth (inside depth open containers): it closes
// the containers that end there and consumes the comma before the next
// value (and key), returning the depth of that value; 0 when the value
// being validated is complete.
func (s *scanner) close(depth int) (int, error) {
	for depth > 0 {
		s.space()
		obj := s.stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0
		switch {
		case s.take(','):
			if obj {
				return depth, s.memberKey()
			}
			return depth, nil
		case obj && s.take('}'), !obj && s.take(']'):
			depth--
		default:
			return 0, s.fail("expected ',' or a closing bracket")
		}
	}
	return 0, nil
}

func (s *scanner) push(depth int, obj bool) {
	if obj {
		s.stack[depth/64] |= 1 << (depth % 64)
	} else {
		s.stack[depth/64] &^= 1 << (depth % 64)
	}
}

// memberKey reads a key inside a value and the colon after it.
func (s *scanner) memberKey() error {
	s.space()
	if err := s.str(); err != nil {
		return err
	}
	return s.colon()
}

func (s *scanner) word(w string) error {
	if !s.literal(w) {
		return s.fail("invalid literal")
	}
	return nil
}

// plainInString marks the bytes a JSON string holds as they are.
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string, quotes included. Bytes from 0x80 up need not be valid
// UTF-8: encoding/json takes them (and decodes them as U+FFFD).
func (s *scanner) str() error {
	if !s.take('"') {
		return s.fail("expected string")
	}
	b, i := s.b, s.i
	for {
		for i < len(b) && plainInString[b[i]] {
			i++
		}
		switch {
		case i >= len(b):
			s.i = i
			return s.fail("")
		case b[i] == '"':
			s.i = i + 1
			return nil
		case b[i] == '\\' && i+1 < len(b):
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
				continue
			case 'u':
				if i+6 <= len(b) && hex4(b[i+2:i+6]) >= 0 {
					i += 6
					continue
				}
			}
		}
		s.i = i
		return s.fail("invalid character in string")
	}
}

func (s *scanner) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		s.i = i
		return s.fail("invalid character looking for a value")
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return s.fail("invalid number")
		}
		i = digits(b, i)
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return s.fail("invalid number")
		}
		i = digits(b, i)
	}
	s.i = i
	return nil
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// hex4 decodes four hex digits, -1 if they are not.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
