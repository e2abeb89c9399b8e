package eventstoredb

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

// codeError is an error with a client error code, as *esdb.Error is; the
// client's struct cannot be built outside its package.
type codeError esdb.ErrorCode

func (e codeError) Code() esdb.ErrorCode { return esdb.ErrorCode(e) }
func (e codeError) Error() string        { return fmt.Sprintf("esdb error code %d", int(e)) }

func TestMapError(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		want    error
		notWant []error
	}{
		{"a wrong expected version is a conflict", context.Background(), codeError(esdb.ErrorCodeWrongExpectedVersion), domain.ErrConflict, []error{errStreamNotFound}},
		{"a wrapped wrong expected version is a conflict", context.Background(), fmt.Errorf("append: %w", codeError(esdb.ErrorCodeWrongExpectedVersion)), domain.ErrConflict, nil},
		{"a missing stream is not found", context.Background(), codeError(esdb.ErrorCodeResourceNotFound), errStreamNotFound, []error{domain.ErrConflict}},
		{"a gRPC deadline is a context deadline", context.Background(), codeError(esdb.ErrorCodeDeadlineExceeded), context.DeadlineExceeded, []error{domain.ErrConflict}},
		{"any error after the caller cancelled is a cancellation", canceled, codeError(esdb.ErrorCodeUnknown), context.Canceled, []error{domain.ErrConflict}},
		{"an unavailable server is neither conflict nor not found", context.Background(), codeError(esdb.ErrorUnavailable), codeError(esdb.ErrorUnavailable), []error{domain.ErrConflict, errStreamNotFound, context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mapError(tt.ctx, tt.err)
			if !errors.Is(got, tt.want) {
				t.Errorf("mapError = %v, want it to wrap %v", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("mapError = %v lost the client's error %v", got, tt.err)
			}
			for _, nw := range tt.notWant {
				if errors.Is(got, nw) {
					t.Errorf("mapError = %v, must not wrap %v", got, nw)
				}
			}
		})
	}
	if mapError(context.Background(), nil) != nil {
		t.Error("mapError(nil) is not nil")
	}
}

func TestReadErrorTurnsAMissingStreamIntoAnEmptyRead(t *testing.T) {
	t.Parallel()
	if err := readError(context.Background(), codeError(esdb.ErrorCodeResourceNotFound)); err != nil {
		t.Errorf("readError(not found) = %v, want nil", err)
	}
	if err := readError(context.Background(), codeError(esdb.ErrorCodeStreamDeleted)); err == nil {
		t.Error("readError(stream deleted) = nil, want the error")
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a refused login does not go away by retrying", codeError(esdb.ErrorCodeUnauthenticated), true},
		{"denied access does not go away by retrying", fmt.Errorf("subscribe: %w", codeError(esdb.ErrorCodeAccessDenied)), true},
		{"an unavailable server may come back", codeError(esdb.ErrorUnavailable), false},
		{"a leader change may settle", codeError(esdb.ErrorCodeNotLeader), false},
		{"a broken connection may heal", errors.New("connection reset by peer"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := permanent(tt.err); got != tt.want {
				t.Errorf("permanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBatchErrorUnwrapsToItsCause(t *testing.T) {
	t.Parallel()
	err := error(&BatchError{Stream: "card-K-2", Written: []domain.Record{{Stream: "card-K-1"}}, Err: fmt.Errorf("append: %w", domain.ErrConflict)})
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("%v does not wrap ErrConflict", err)
	}
}
