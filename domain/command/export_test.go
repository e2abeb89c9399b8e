package command

import "time"

// SetCacheClock replaces the clock of h's cache, so that tests can move
// past its ttl without sleeping.
func SetCacheClock(h *Handler, now func() time.Time) { h.cache.now = now }

// CacheLen returns how many streams and events h's cache holds.
func CacheLen(h *Handler) (streams, events int) { return h.cache.len() }
