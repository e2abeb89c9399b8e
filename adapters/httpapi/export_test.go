package httpapi

import "net/http"

// DecodeForTest is Decode for the external test package's fuzz target.
func DecodeForTest(r *http.Request, dst any) error { return Decode(r, dst) }
