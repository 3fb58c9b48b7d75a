package middleware

import (
	"bufio"
	"math"
	"net"
	"net/http"
)

// responseWriter wraps the caller's ResponseWriter as little as it can: it
// remembers the status (so that 5xx responses can be refunded) and whether the
// connection was hijacked. Flush and Hijack pass through; Unwrap lets
// [http.ResponseController] reach every other optional method (deadlines,
// full duplex) of the writer underneath.
type responseWriter struct {
	http.ResponseWriter
	status   int32 // int32 keeps the request state in its size class
	hijacked bool
	returned bool // the handler returned without panicking (set by the middleware)
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
)

func (w *responseWriter) WriteHeader(code int) {
	// 1xx responses are informational and may precede the real status.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = int32(min(code, math.MaxInt32))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush sends buffered data to the client. For a streaming response the
// middleware keeps the slot until the handler returns, however long it streams.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection to the handler. The concurrency slot is still
// released when the handler returns, not when the hijacked connection closes:
// a handler that keeps the connection in another goroutine is no longer
// counted as in flight.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOrOK is the status the client saw, 200 when the handler wrote nothing.
func (w *responseWriter) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return int(w.status)
}
