package httpapi

import (
	"fmt"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in a handler into a 500 internal problem and logs
// it with its stack, so one bad request does not take the server down.
// http.ErrAbortHandler is re-panicked, as net/http expects.
//
//	r.Use(httpapi.Recover)
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// WriteError logs it (5xx), stack included.
			WriteError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}()
		next.ServeHTTP(w, r)
	})
}
