package postgres

import (
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err means that PostgreSQL could not be
// reached or could not serve at all, rather than that a statement failed:
// a failed connection (refused, timed out, DNS), a connection lost on the
// way, or a server error of class 08 (connection exception), 53
// (insufficient resources: too many connections, out of memory or disk)
// or 57P (shutting down, cannot connect now, crash recovery). Such an
// error is the server's state, not the request's fault: the HTTP layer
// answers 503 with Retry-After.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57P")
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return pgconn.SafeToRetry(err)
}
