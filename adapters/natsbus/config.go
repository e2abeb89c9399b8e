package natsbus

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kaiku/kaiku/domain"
)

// Config names the JetStream stream that carries the log.
type Config struct {
	// Stream is the JetStream stream name. Default "KAIKU_LOG".
	Stream string
	// Prefix is the subject prefix; a record of stream s is published on
	// Prefix + "." + hex(s). Default "kaiku.log".
	Prefix string
	// Duplicates is JetStream's deduplication window by Nats-Msg-Id.
	// Default 2 minutes.
	Duplicates time.Duration
	// Replicas of the stream (a NATS cluster); default 1.
	Replicas int
}

// Validate reports a stream name or prefix JetStream would refuse.
func (c Config) Validate() error {
	if strings.ContainsAny(c.Stream, " .*>") {
		return fmt.Errorf("natsbus: stream name %q must not contain spaces, '.', '*' or '>'", c.Stream)
	}
	if strings.ContainsAny(c.Prefix, " *>") || strings.HasPrefix(c.Prefix, ".") || strings.HasSuffix(c.Prefix, ".") {
		return fmt.Errorf("natsbus: subject prefix %q is not a valid subject", c.Prefix)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = "KAIKU_LOG"
	}
	if c.Prefix == "" {
		c.Prefix = "kaiku.log"
	}
	if c.Duplicates <= 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
}

// subject is where records of stream s are published.
func (c Config) subject(s domain.StreamID) string {
	return c.Prefix + "." + hex.EncodeToString([]byte(s))
}

// ErrReadOnly is returned (wrapped) by Log's append methods: the bus is
// fed by the Forwarder, never written through.
var ErrReadOnly = errors.New("the NATS log is read-only: append to the event store")

// Connect connects to the NATS server at url (nats://host:4222) with
// reconnects forever, and returns an error saying what to do when it does
// not answer.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
	if err != nil {
		return nil, fmt.Errorf("NATS at %s does not answer (%v): start nats-server -js, or set KAIKU_BUS / --bus", url, err)
	}
	return nc, nil
}

// ensureStream creates the stream, or updates it to cfg; both forwarder
// and readers call it, so either may start first.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Kaiku's global event log, in log order (forwarded by kaiku serve --bus)",
		Subjects:    []string{cfg.Prefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.Duplicates,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: create stream %s (is JetStream enabled? nats-server -js): %w", cfg.Stream, err)
	}
	return st, nil
}

// DeleteStream deletes the stream of cfg (tests, resets). A missing stream
// is not an error.
func DeleteStream(ctx context.Context, nc *nats.Conn, cfg Config) error {
	cfg.setDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("natsbus: %w", err)
	}
	if err := js.DeleteStream(ctx, cfg.Stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("natsbus: delete stream %s: %w", cfg.Stream, err)
	}
	return nil
}

// ParseURL splits a bus URL such as
// nats://host:4222?stream=KAIKU_LOG&subject=kaiku.log into the server URL
// to connect to and the Config its query names (defaults for what it does
// not). It returns an error for another scheme, an unknown parameter or an
// invalid stream or subject.
func ParseURL(s string) (server string, cfg Config, err error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return "", Config{}, fmt.Errorf("bus %q is not a nats:// URL (nats://host:4222?stream=KAIKU_LOG&subject=kaiku.log)", s)
	}
	for k := range u.Query() {
		if k != "stream" && k != "subject" {
			return "", Config{}, fmt.Errorf("bus URL: unknown parameter %q (known: stream, subject)", k)
		}
	}
	cfg = Config{Stream: u.Query().Get("stream"), Prefix: u.Query().Get("subject")}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return "", Config{}, err
	}
	u.RawQuery = ""
	return u.String(), cfg, nil
}
