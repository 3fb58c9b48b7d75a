package middleware

import (
	"net/http"
	"sync/atomic"

	"github.com/creditgate/creditgate/limiter"
)

// reqState is allocated once per admitted request, and is the writer next
// gets: ReportCost finds it by unwrapping the writer. It is not pooled, so a
// writer a handler kept past its return (net/http forbids using it then)
// can only reach its own, finished request.
type reqState struct {
	responseWriter
	ticket limiter.Ticket
	report atomic.Int64   // 0: no report; ^n (< 0): ReportCost(n); reportClosed: next returned
	vals   admittedValues // this response's limit header values
}

// reportClosed is reqState.report once finish has read it.
const reportClosed = 1

var (
	_ http.Flusher  = (*reqState)(nil)
	_ http.Hijacker = (*reqState)(nil)
	_ rwUnwrapper   = (*reqState)(nil)
)

// rwUnwrapper is what http.ResponseController unwraps writers by.
type rwUnwrapper interface{ Unwrap() http.ResponseWriter }

// reqStateIETF is the request state with room for the RateLimit value;
// still one allocation.
type reqStateIETF struct {
	reqState
	ietf ietfValues
}

// newReqState allocates a request's state, with room for the RateLimit value
// (big, else nil) if ietf.
func newReqState(ietf bool) (st *reqState, big *reqStateIETF) {
	if ietf {
		big = &reqStateIETF{}
		return &big.reqState, big
	}
	return &reqState{}, nil
}

// ReportCost settles the request's credits at n, the real cost once the handler
// knows it (reserve and settle, as Shopify does): the difference from the
// reserved price is refunded or charged when the handler returns. n == 0
// refunds everything. w is the ResponseWriter the handler was given, or any
// writer that wraps it through an Unwrap() http.ResponseWriter method (as
// [http.ResponseController] unwraps), so that middleware between this one and
// the handler may wrap it.
//
// The last call wins; it is safe from any goroutine while the handler runs. A
// 5xx response or a panic refunds everything regardless (unless
// WithRefund5xx(false)). ReportCost reports false, and changes nothing, when n
// is negative, when w did not come from an admitting middleware (no
// middleware, or a shadow-mode request that would have been refused and so
// holds nothing), or when the handler has already returned.
func ReportCost(w http.ResponseWriter, n int64) bool {
	if n < 0 {
		return false
	}
	for w != nil {
		if st, ok := w.(*reqState); ok {
			for {
				old := st.report.Load()
				if old == reportClosed {
					return false
				}
				if st.report.CompareAndSwap(old, ^n) {
					return true
				}
			}
		}
		u, ok := w.(rwUnwrapper)
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}
