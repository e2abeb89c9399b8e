package httpapi

import "net/http"

// LimitBody caps every request body at n bytes; reading past it fails with
// *http.MaxBytesError, which ProblemFor answers with 413 body_too_large.
//
//	r.Use(httpapi.LimitBody(64 << 10))
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
