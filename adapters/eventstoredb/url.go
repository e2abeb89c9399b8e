package eventstoredb

import (
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// schemes maps every scheme KurrentDB clients accept to the one the v4
// client's ParseConnectionString understands. KurrentDB renamed esdb:// to
// kurrentdb:// (short form kdb://); the options after the host are the same.
var schemes = map[string]string{
	"esdb":               "esdb",
	"esdb+discover":      "esdb+discover",
	"kurrentdb":          "esdb",
	"kurrentdb+discover": "esdb+discover",
	"kurrent":            "esdb",
	"kurrent+discover":   "esdb+discover",
	"kdb":                "esdb",
	"kdb+discover":       "esdb+discover",
}

// ParseURL reads a kurrentdb://, kdb://, esdb:// or esdb+discover:// (and
// kurrentdb+discover://) connection string into the client's configuration,
// e.g. "kurrentdb://localhost:2113?tls=false". It returns an error naming
// the accepted schemes when the scheme is none of them, and the client's
// parse error otherwise.
func ParseURL(url string) (*esdb.Configuration, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("kurrentdb url %q has no scheme: want kurrentdb://host:2113?tls=false", redact(url))
	}
	esdbScheme, ok := schemes[strings.ToLower(scheme)]
	if !ok {
		return nil, fmt.Errorf("kurrentdb url scheme %q is not one of kurrentdb, kurrentdb+discover, kdb, kdb+discover, esdb, esdb+discover", scheme)
	}
	cfg, err := esdb.ParseConnectionString(esdbScheme + "://" + rest)
	if err != nil {
		return nil, fmt.Errorf("parse kurrentdb url %q: %w", redact(url), err)
	}
	return cfg, nil
}

// redact hides the password of a url's userinfo so errors never print it.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	authority := rest
	if end := strings.IndexAny(rest, "/?"); end >= 0 {
		authority = rest[:end]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return url
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return url
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
