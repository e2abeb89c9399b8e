package domain

// IsSlug reports whether s is a caller-chosen identifier of the usual
// shape: 1–64 ASCII letters, digits, '-', '_' or '.', starting with a letter
// or digit ("espoo", "espoo-sos-1", "AGR-2024.1"). Aggregate packages use it
// in their ParseID functions; it keeps ids safe in stream names and URLs.
func IsSlug(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '-' && c != '_' && c != '.')) {
			return false
		}
	}
	return true
}
