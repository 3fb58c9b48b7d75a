package middleware

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// csvTable is a response that has a CSV form (?format=csv): a file name
// (plain ASCII, no quotes) and the rows, the header first.
type csvTable interface {
	csv() (name string, rows [][]string)
}

// writeCSV writes t as a CSV download. Every cell that is text from
// clients (keys, tenants) goes through csvText. Every cell is quoted
// (encoding/csv quotes only for a comma): a spreadsheet that splits on
// another separator (";" where Excel's list separator is, a tab an import
// detects) would otherwise start a cell inside a key, past csvText.
func writeCSV(w http.ResponseWriter, t csvTable) {
	name, rows := t.csv()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(cell, `"`, `""`))
			b.WriteByte('"')
		}
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(w, b.String())
}

// csvText makes a cell that a spreadsheet shows as text, never runs as a
// formula: a cell starting with = + - @ (or a tab or carriage return,
// which some spreadsheets skip before one) gets a leading apostrophe
// (OWASP's advice on CSV injection). Numbers are written by csvInt, not
// through it, so a negative number stays a number.
func csvText(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

func csvInt(n int64) string { return strconv.FormatInt(n, 10) }
