package eventstoredb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

// errStreamNotFound marks a read of a stream that does not exist; the
// store turns it into an empty result, never into an error for callers.
var errStreamNotFound = errors.New("stream not found")

// coder is what the client's *esdb.Error offers to classify it. Matching
// the interface rather than the struct lets tests build such errors (the
// struct's fields are unexported).
type coder interface{ Code() esdb.ErrorCode }

var _ coder = (*esdb.Error)(nil)

// mapError translates a client error into the kinds Kaiku's callers test
// with errors.Is, keeping the client's error in the chain for detail:
//   - WrongExpectedVersion → domain.ErrConflict
//   - ResourceNotFound → errStreamNotFound
//   - a gRPC deadline → context.DeadlineExceeded
//   - anything while ctx is done → ctx.Err()
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var e coder
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeWrongExpectedVersion:
			return fmt.Errorf("%w: %w", domain.ErrConflict, err)
		case esdb.ErrorCodeResourceNotFound:
			return fmt.Errorf("%w: %w", errStreamNotFound, err)
		case esdb.ErrorCodeDeadlineExceeded:
			return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

// permanent reports whether a subscription error will not go away by
// subscribing again: the server refuses who we are, or the request itself.
func permanent(err error) bool {
	var e coder
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnsupportedFeature:
		return true
	}
	return false
}

// BatchError reports an AppendBatch that stopped part way: the streams
// before Stream were appended (Written), Stream and the rest were not.
// KurrentDB has no transaction over several streams, so this can happen
// when another writer changes a later stream between AppendBatch's check
// and its append. Retrying the same batch (same event ids) completes it:
// the written parts are recognised by event id and not stored twice.
type BatchError struct {
	Stream  domain.StreamID
	Written []domain.Record
	Err     error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("append batch stopped at stream %s after %d records were written: %v", e.Stream, len(e.Written), e.Err)
}

// Unwrap returns the cause, typically wrapping domain.ErrConflict.
func (e *BatchError) Unwrap() error { return e.Err }
