package eventstoredb

import (
	"fmt"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

// A KurrentDB $all position is a pair of byte offsets into the transaction
// log: the prepare position (where the event record is) and the commit
// position (where the transaction that made it visible is). They differ
// only for events written inside explicit multi-request transactions, a
// feature of the legacy TCP API that gRPC clients cannot use and that
// KurrentDB removed; every event written over gRPC has Commit == Prepare.
// The log is written by one writer in order, so the commit position alone
// orders $all, and it is unique per event when Commit == Prepare.
//
// Kaiku's domain.Position is therefore the commit position itself, and
// esdb.Position{Commit: p, Prepare: p} maps it back for reading $all or
// subscribing from it. That is exact, order preserving, and lets a reader
// resume from a stored domain.Position. An event that still carries
// Commit != Prepare (a legacy transaction in an old database) cannot be
// given a unique int64 position and is reported as an error rather than
// silently misplaced.

// noPosition is what servers older than 22.6 report as the $all position of
// events read from a stream (they only know it when reading $all).
const noPosition = math.MaxUint64

// toPosition maps a KurrentDB $all position to Kaiku's.
func toPosition(p esdb.Position) (domain.Position, error) {
	switch {
	case p.Commit == noPosition:
		return 0, fmt.Errorf("the server did not report the event's $all position (stream reads carry it from EventStoreDB 22.6 on; upgrade the server)")
	case p.Commit != p.Prepare:
		return 0, fmt.Errorf("event at $all commit %d prepare %d was written in a legacy explicit transaction, which Kaiku cannot order", p.Commit, p.Prepare)
	case p.Commit > math.MaxInt64:
		return 0, fmt.Errorf("$all position %d does not fit a domain.Position", p.Commit)
	}
	return domain.Position(p.Commit), nil
}

// fromPosition maps Kaiku's position back to a KurrentDB $all position:
// Start for zero ("before the first event"), the exact pair otherwise.
func fromPosition(p domain.Position) esdb.AllPosition {
	if p <= 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(p), Prepare: uint64(p)}
}

// comparePositions orders two $all positions as the log does: by commit,
// then by prepare.
func comparePositions(a, b esdb.Position) int {
	switch {
	case a.Commit < b.Commit:
		return -1
	case a.Commit > b.Commit:
		return 1
	case a.Prepare < b.Prepare:
		return -1
	case a.Prepare > b.Prepare:
		return 1
	}
	return 0
}

// expectedRevision maps Kaiku's expected stream version (1-based, with
// NoStream = 0 and AnyVersion = -1) to KurrentDB's (0-based revisions).
// A stream at version v has its last event at revision v-1.
func expectedRevision(v domain.Version) (esdb.ExpectedRevision, error) {
	switch {
	case v == domain.AnyVersion:
		return esdb.Any{}, nil
	case v == domain.NoStream:
		return esdb.NoStream{}, nil
	case v > 0:
		return esdb.Revision(uint64(v - 1)), nil
	}
	return nil, fmt.Errorf("expected version %d is neither a version, NoStream (0) nor AnyVersion (-1)", v)
}

// streamFrom maps "versions after v" to the stream position to read from:
// version v+1 is revision v.
func streamFrom(after domain.Version) esdb.StreamPosition {
	if after <= 0 {
		return esdb.Start{}
	}
	return esdb.Revision(uint64(after))
}

// toVersion maps a 0-based stream revision to Kaiku's 1-based version.
func toVersion(revision uint64) domain.Version { return domain.Version(revision + 1) }
