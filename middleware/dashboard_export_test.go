package middleware

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

func getCSV(t *testing.T, h http.Handler, target string) (filename string, rows [][]string) {
	t.Helper()
	rec := dashGet(t, h, target)
	require.Equal(t, http.StatusOK, rec.Code, "%s: %s", target, rec.Body.String())
	assert.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	cd := rec.Header().Get("Content-Disposition")
	require.True(t, strings.HasPrefix(cd, `attachment; filename="`), cd)
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	require.NoError(t, err)
	return strings.TrimSuffix(strings.TrimPrefix(cd, `attachment; filename="`), `"`), rows
}

// Every table has a CSV form; a cell of client text that a spreadsheet
// would run as a formula is prefixed, numbers (even negative) are not.
func TestDashboardCSV(t *testing.T) {
	src := newFakeSource(t, 100)
	for _, app := range []string{"=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "plain"} {
		src.record(t0, usage.Event{App: app, User: "=cmd", Credits: 2})
	}
	src.u.Settle(t0, "", "refunded", -5)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))

	name, rows := getCSV(t, d, "/api/top?dim=app&format=csv&n=1000")
	assert.Equal(t, "creditgate-app.csv", name)
	assert.Equal(t, []string{"app", "kind", "credits", "calls", "refused"}, rows[0])
	got := map[string][]string{}
	for _, r := range rows[1:] {
		got[r[0]] = r[1:]
	}
	for _, key := range []string{"'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"} {
		assert.Equal(t, []string{"", "2", "1", "0"}, got[key], key)
	}
	assert.Equal(t, []string{"", "-5", "0", "0"}, got["refunded"], "a negative number stays a number")

	_, rows = getCSV(t, d, "/api/top?dim=user&app=plain&format=csv")
	assert.Equal(t, [][]string{{"user", "kind", "credits", "calls", "refused"}, {"'=cmd", "", "2", "1", "0"}}, rows)
	name, rows = getCSV(t, d, "/api/period?period=today&format=csv")
	assert.Equal(t, "creditgate-today-by-hour.csv", name)
	assert.Len(t, rows, 25)
	assert.Equal(t, []string{"2026-11-22T10:00:00Z", "7", "6", "0"}, rows[11])
	name, rows = getCSV(t, d, "/api/tenants?format=csv")
	assert.Equal(t, "creditgate-tenants.csv", name)
	assert.Equal(t, [][]string{{"tenant", "kind", "credits", "calls", "refused"}, {"", "none", "7", "6", "0"}}, rows)
}

// The alert log keeps the crossings the limiter reports (its Add is the
// WithAlerts callback), newest first, and the dashboard shows them with
// the thresholds and which of them the pool is past now.
func TestDashboardAlerts(t *testing.T) {
	log := NewAlertLog(nil, 0)
	seen := make(chan limiter.Alert, 8)
	u := usage.New(0, 100)
	defer func() { _ = u.Close(context.Background()) }()
	l, err := limiter.New(testPlan(10, 5, 5), limiter.WithUsage(u), limiter.WithAlerts(log.Thresholds(), func(a limiter.Alert) {
		log.Add(a)
		seen <- a
	}))
	require.NoError(t, err)
	defer func() { _ = l.Close(context.Background()) }()
	for i := range 9 { // 80 % at the 8th credit, 90 % at the 9th
		tk, dec := l.Acquire(t0.Add(time.Duration(i)*time.Minute), limiter.Request{Credits: 1})
		require.True(t, dec.Allowed)
		tk.Release()
	}
	<-seen
	<-seen
	d := Dashboard(l, WithAlertLog(log), WithDashboardClock(func() time.Time { return t0.Add(10 * time.Minute) }),
		WithLocation(time.FixedZone("UTC+2", 7200)))
	a := getJSON[alertsJSON](t, d, "/api/alerts")
	assert.True(t, a.Enabled)
	assert.Equal(t, []int{80, 90, 100}, a.Thresholds)
	assert.Equal(t, []int{80, 90}, a.Crossed)
	require.Len(t, a.Items, 2)
	assert.Equal(t, alertJSON{At: a.Items[0].At, Threshold: 90, Used: 9, Limit: 10}, a.Items[0], "newest first")
	assert.Equal(t, "2026-11-22T12:08:00+02:00", a.Items[0].At.Format(time.RFC3339), "in the dashboard's zone")
	assert.Equal(t, 80, a.Items[1].Threshold)
	_, rows := getCSV(t, d, "/api/alerts?format=csv")
	assert.Equal(t, [][]string{{"at", "threshold", "used", "limit"}, {"2026-11-22T12:08:00+02:00", "90", "9", "10"},
		{"2026-11-22T12:07:00+02:00", "80", "8", "10"}}, rows)
	assert.Empty(t, getJSON[alertsJSON](t, d, "/api/alerts?tenant=other").Items)
}

// The log is bounded: past its size the oldest crossings go.
func TestAlertLogBounded(t *testing.T) {
	log := NewAlertLog([]int{50}, 3)
	for i := range 5 {
		log.Add(limiter.Alert{Tenant: []string{"a", "b"}[i%2], Threshold: 50, Used: int64(i)})
	}
	var used []int64
	for _, al := range log.Alerts("a") {
		used = append(used, al.Used)
	}
	assert.Equal(t, []int64{4, 2}, used, "a's of the last three, newest first")
	assert.Len(t, log.Alerts("b"), 1)
	assert.Equal(t, []int{50}, log.Thresholds())
}

// A spreadsheet that splits on another separator (Excel where the list
// separator is ";", an import that detects tabs) must not find a formula
// at the start of a cell inside a key either (OWASP: the separators too):
// every cell is quoted, so that no separator in one splits it.
func TestDashboardCSVSeparators(t *testing.T) {
	src := newFakeSource(t, 100)
	keys := []string{"x;=1+1", "x\t=1+1", "x;+1", "x;-1;@A1", `x";=1+1`, "x,=1+1", "x\n=1+1"}
	for _, app := range keys {
		src.record(t0, usage.Event{App: app, Credits: 2})
	}
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	body := dashGet(t, d, "/api/top?dim=app&format=csv&n=1000").Body.String()
	for _, sep := range []byte{',', ';', '\t'} {
		for _, cell := range splitCells(body, sep) {
			if _, err := strconv.ParseInt(cell, 10, 64); err != nil && cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("split on %q, a cell starts a formula: %q\n%s", sep, cell, body)
			}
		}
	}
	_, rows := getCSV(t, d, "/api/top?dim=app&format=csv&n=1000")
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
	}
	assert.ElementsMatch(t, keys, got, "read back as CSV, the keys are whole")
}

// splitCells splits a CSV body as a spreadsheet does with separator sep:
// a cell that starts with a double quote runs to the closing one ("" is
// one); records end at a newline outside quotes.
func splitCells(body string, sep byte) []string {
	var cells []string
	var cur strings.Builder
	quoted, start := false, true
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quoted && c == '"' && i+1 < len(body) && body[i+1] == '"':
			cur.WriteByte('"')
			i++
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"' && start:
			quoted = true
		case c == sep || c == '\n' || c == '\r':
			cells = append(cells, cur.String())
			cur.Reset()
			start = true
			continue
		default:
			cur.WriteByte(c)
		}
		start = false
	}
	return append(cells, cur.String())
}
