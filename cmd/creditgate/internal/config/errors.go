package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error Load, Parse and Validate return for a
// configuration they refuse, so that a caller can tell a bad configuration
// (exit code 2) from a failure to run.
var ErrInvalid = errors.New("config: invalid configuration")

// Pos is where a value came from: a file position, or a flag or environment
// variable (Source), or nowhere (the built-in default).
type Pos struct {
	File   string
	Line   int
	Column int
	Source string // "flag -listen", "env CREDITGATE_LISTEN"; "" for a file
}

func (p Pos) String() string {
	switch {
	case p.Source != "":
		return p.Source
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	case p.File != "":
		return p.File
	default:
		return "default"
	}
}

// Error is one problem with one field: where it is, which field (as a dotted
// path such as "plan.licences" or "costs.routes[2].pattern") and what is
// wrong with it.
type Error struct {
	Pos   Pos
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Field, e.Msg)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors is every problem found in one configuration, in the order found.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// err returns es as an error, nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
