package middleware

import (
	"encoding/csv"
	"net/http"
	"strconv"
)

// csvTable is a response that has a CSV form (?format=csv): a file name
// (plain ASCII, no quotes) and the rows, the header first.
type csvTable interface {
	csv() (name string, rows [][]string)
}

// writeCSV writes t as a CSV download. Every cell that is text from
// clients (keys, tenants) goes through csvText.
func writeCSV(w http.ResponseWriter, t csvTable) {
	name, rows := t.csv()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
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
