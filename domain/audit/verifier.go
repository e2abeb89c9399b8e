package audit

import (
	"bytes"
	"fmt"

	"github.com/kaiku/kaiku/domain"
)

// Kind says what a Verifier found wrong at a position.
type Kind string

const (
	// KindChanged: the event's content (or its predecessor link) no longer
	// matches the hash it was chained with.
	KindChanged Kind = "changed"
	// KindMissing: a chained event is gone: its chain row is left without
	// an event, its successor names it as predecessor, or a seal ends or
	// starts at it.
	KindMissing Kind = "missing"
	// KindInserted: an event that was never chained there sits among
	// chained events, with or without a forged chain row.
	KindInserted Kind = "inserted"
	// KindReordered: the position holds another event than the one chained
	// there: events were moved (reordered) or replaced.
	KindReordered Kind = "reordered"
	// KindChainMissing: the event was chained (its successor names it) but
	// its chain row is gone, or a seal covers it and it has no chain row.
	KindChainMissing Kind = "chain_missing"
	// KindSeal: a seal does not match what it covers or was itself altered,
	// removed or forged: events it covers were changed and the chain
	// rewritten to match, or the seal row was changed.
	KindSeal Kind = "seal_mismatch"
)

// Problem is the first thing a Verifier found wrong. Position is the first
// position that can no longer be vouched for (for a seal problem, the first
// position the seal covers); it may name an event that no longer exists.
type Problem struct {
	Position domain.Position
	Kind     Kind
	// Seal is the seal's Seq for KindSeal problems, else 0.
	Seal   int64
	Detail string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("position %d: %s: %s", p.Position, p.Kind, p.Detail)
}

// ChainRow is one stored row of the hash chain: the hash the chainer
// computed for the event at Position, the predecessor it chained it to and
// the event's id. PrevPosition and EventID are covered by Hash (through
// the predecessor link and the entry), and let the Verifier say what
// happened rather than only where.
type ChainRow struct {
	Position     domain.Position
	PrevPosition domain.Position
	EventID      domain.EventID
	Hash         []byte
	// Format is the chain format Hash was computed in (0: CurrentFormat).
	Format int
}

// Row is one position of the log as stored: the event there, its chain row,
// or both. A store merges its events and chain rows by position and feeds
// the Verifier one Row per position that has either.
type Row struct {
	Event *Entry
	Chain *ChainRow
}

func (r Row) position() domain.Position {
	if r.Event != nil {
		return r.Event.Position
	}
	if r.Chain != nil {
		return r.Chain.Position
	}
	return 0
}

// Report is what a verification found. Events counts event rows seen,
// Chained the events whose chain hash verified, Sealed the events covered
// by verified seals and Seals those seals. Events after the last chain row
// are the unchained tail and events after the last seal the unsealed tail:
// both are normal (the chainer runs behind appends) and are not problems.
type Report struct {
	Events  int64
	Chained int64
	Sealed  int64
	Seals   int64
	// KeyedSeals counts verified seals that carry an HMAC; UncheckedSeals
	// those among them whose HMAC could not be checked because no key was
	// given (their coverage and links were still checked).
	KeyedSeals     int64
	UncheckedSeals int64
	// Head is the last verified chain link; LastSeal the last verified seal
	// (nil when none). Publishing LastSeal.Hash outside the database lets a
	// later verification prove that no seal was rewritten since.
	Head     Link
	LastSeal *Seal
	// FirstBad is the first problem, or nil when everything verified.
	FirstBad *Problem
}

// historySize bounds how far back the Verifier remembers chained positions
// to name the first of several inserted events.
const historySize = 1024

// Verifier recomputes the chain over stored rows fed in position order and
// checks them against the stored chain rows and seals. It keeps constant
// memory (besides the seals it was given, which are few: one per sealing
// interval), so it can verify a log of any length as it streams by. It
// stops at the first problem.
//
// A Verifier is not safe for concurrent use.
type Verifier struct {
	key   []byte
	seals []Seal

	last    Link
	history [historySize]domain.Position
	hlen    int
	pending domain.Position // first event after the last chain row without one
	prevPos domain.Position

	k            int   // next seal to complete
	count        int64 // chained events seen in seals[k]
	prevSealHash []byte
	sawKeyed     bool
	lastKeyed    int // index of the last keyed seal, -1 when none

	report Report
}

// NewVerifier returns a Verifier checking keyed seals with key (nil: keyed
// seals are checked for coverage and links but not for their HMAC) against
// seals, which must be in Seq order.
//
// With a key, the seals must end keyed: unkeyed seals are accepted only
// before the first keyed one (a deployment that adopted a key later), since
// an attacker without the key could otherwise rewrite every seal unkeyed.
// Without a key, an unkeyed seal after a keyed one is still a problem.
func NewVerifier(key []byte, seals []Seal) *Verifier {
	v := &Verifier{key: key, seals: seals, lastKeyed: -1}
	for i, s := range seals {
		if s.Keyed {
			v.lastKeyed = i
		}
	}
	return v
}

// Add feeds the next position. Rows must come in strictly increasing
// position order, each with an event, a chain row or both at the same
// position. Add returns false once a problem was found; later rows are
// ignored.
func (v *Verifier) Add(r Row) bool {
	if v.report.FirstBad != nil {
		return false
	}
	pos := r.position()
	if r.Event == nil && r.Chain == nil {
		return true
	}
	if r.Event != nil && r.Chain != nil && r.Event.Position != r.Chain.Position {
		return v.fail(min(r.Event.Position, r.Chain.Position), KindReordered, 0,
			"event and chain row fed together are at different positions %d and %d", r.Event.Position, r.Chain.Position)
	}
	if pos <= v.prevPos {
		return v.fail(pos, KindReordered, 0, "position %d comes after position %d", pos, v.prevPos)
	}
	v.prevPos = pos
	if r.Event != nil {
		v.report.Events++
	}
	c := r.Chain
	if c == nil {
		if v.pending == 0 {
			v.pending = pos
		}
		return true
	}
	if v.pending != 0 {
		if c.PrevPosition >= v.pending {
			return v.fail(v.pending, KindChainMissing, 0,
				"the event at %d has no chain row, but the chain row at %d names %d as its predecessor: the event was chained and its chain row deleted",
				v.pending, pos, c.PrevPosition)
		}
		return v.fail(v.pending, KindInserted, 0,
			"the event at %d has no chain row and the chain runs from %d to %d around it: it was inserted",
			v.pending, c.PrevPosition, pos)
	}
	e := r.Event
	if e == nil {
		return v.fail(pos, KindMissing, 0, "the chain row at %d has no event: the event chained there was deleted", pos)
	}
	switch {
	case c.PrevPosition > v.last.Position:
		return v.fail(c.PrevPosition, KindMissing, 0,
			"the event at %d was chained before %d but is gone with its chain row (deleted)", c.PrevPosition, pos)
	case c.PrevPosition < v.last.Position:
		first := v.after(c.PrevPosition)
		if first == 0 {
			first = v.last.Position
		}
		return v.fail(first, KindInserted, 0,
			"the event at %d was chained right after %d, but events were inserted between them, the first at %d",
			pos, c.PrevPosition, first)
	}
	if c.EventID != e.ID {
		return v.fail(pos, KindReordered, 0,
			"position %d holds event %s but event %s was chained there: events were reordered or replaced", pos, e.ID, c.EventID)
	}
	entry := *e
	entry.Format = c.Format
	h := Hash(v.last, entry)
	if !bytes.Equal(h, c.Hash) {
		return v.fail(pos, KindChanged, 0,
			"the event at %d (%s %s/%d) no longer matches its chain hash: it was changed after it was chained", pos, e.Type, e.Stream, e.Version)
	}
	v.last = Link{Position: pos, Hash: c.Hash}
	v.history[v.hlen%historySize] = pos
	v.hlen++
	v.report.Chained++
	v.report.Head = v.last
	return v.sealed(pos, c.Hash)
}

// after returns the remembered chained position right after p, or 0.
func (v *Verifier) after(p domain.Position) domain.Position {
	n := min(v.hlen, historySize)
	for i := v.hlen - n; i < v.hlen-1; i++ {
		if v.history[i%historySize] == p {
			return v.history[(i+1)%historySize]
		}
	}
	if p == 0 && v.hlen > 0 && v.hlen <= historySize {
		return v.history[0]
	}
	return 0
}

// sealed accounts the verified chained event at pos against the seals.
func (v *Verifier) sealed(pos domain.Position, hash []byte) bool {
	if v.k >= len(v.seals) {
		return true
	}
	s := &v.seals[v.k]
	if v.count == 0 {
		if !v.sealHeaderOK(pos, s) {
			return false
		}
		switch {
		case pos < s.From:
			return v.fail(pos, KindInserted, 0,
				"the event at %d is chained after seal %d but seal %d starts at %d: it was inserted", pos, s.Seq-1, s.Seq, s.From)
		case pos > s.From:
			return v.fail(s.From, KindMissing, 0, "seal %d starts at %d but no chained event is there: it was deleted", s.Seq, s.From)
		}
	}
	if pos > s.To {
		return v.fail(s.To, KindMissing, 0, "seal %d ends at %d but no chained event is there: it was deleted", s.Seq, s.To)
	}
	v.count++
	if pos < s.To {
		return true
	}
	if v.count != s.Count || !bytes.Equal(hash, s.LastHash) {
		return v.fail(s.From, KindSeal, s.Seq,
			"seal %d covers %d events %d..%d ending in hash %x, but they now number %d ending in %x: events were changed, inserted or removed after sealing and the chain rewritten",
			s.Seq, s.Count, s.From, s.To, s.LastHash, v.count, hash)
	}
	v.report.Seals++
	v.report.Sealed += v.count
	if s.Keyed {
		v.report.KeyedSeals++
		if len(v.key) == 0 {
			v.report.UncheckedSeals++
		}
	}
	v.report.LastSeal = s
	v.prevSealHash = s.Hash
	v.k++
	v.count = 0
	return true
}

// sealHeaderOK checks a seal's own integrity when its first event comes by.
func (v *Verifier) sealHeaderOK(pos domain.Position, s *Seal) bool {
	want := int64(v.k + 1)
	if s.Seq != want {
		return v.fail(pos, KindSeal, want, "seal %d is missing (the next seal is %d): it was deleted", want, s.Seq)
	}
	if !bytes.Equal(s.PrevHash, v.prevSealHash) {
		return v.fail(s.From, KindSeal, s.Seq, "seal %d does not chain to seal %d: a seal was altered or replaced", s.Seq, s.Seq-1)
	}
	if s.Keyed {
		v.sawKeyed = true
		if len(v.key) > 0 && !bytes.Equal(SealHash(v.key, *s), s.Hash) {
			return v.fail(s.From, KindSeal, s.Seq,
				"seal %d's HMAC does not match its content: the seal was altered or forged without the key (or the key given is not the sealing key)", s.Seq)
		}
		return true
	}
	if v.sawKeyed {
		return v.fail(s.From, KindSeal, s.Seq, "seal %d is not keyed although earlier seals are: it was forged without the key", s.Seq)
	}
	if len(v.key) > 0 && v.k > v.lastKeyed {
		return v.fail(s.From, KindSeal, s.Seq,
			"seal %d and the seals after it are not keyed although a key was given: they were rewritten without the key (or the chainer runs without the seal key)", s.Seq)
	}
	if !bytes.Equal(SealHash(nil, *s), s.Hash) {
		return v.fail(s.From, KindSeal, s.Seq, "seal %d's hash does not match its content: the seal was altered", s.Seq)
	}
	return true
}

// Report ends the verification and returns what it found. Seals that were
// not completed by the rows fed mean sealed events are gone (or, when an
// event without chain row lies in a seal's range, that it was inserted or
// lost its chain row).
func (v *Verifier) Report() Report {
	if v.report.FirstBad == nil && v.k < len(v.seals) {
		s := v.seals[v.k]
		switch {
		case v.pending != 0 && v.pending <= s.To:
			v.fail(v.pending, KindChainMissing, 0,
				"the event at %d has no chain row though seal %d covers %d..%d: it was inserted or its chain row deleted", v.pending, s.Seq, s.From, s.To)
		case v.count == 0 && !v.sealHeaderOK(s.From, &s):
		case v.count == 0:
			v.fail(s.From, KindMissing, 0, "seal %d covers %d..%d but no chained event is there: they were deleted", s.Seq, s.From, s.To)
		default:
			v.fail(s.To, KindMissing, 0, "seal %d ends at %d but the log ends before it: sealed events were deleted", s.Seq, s.To)
		}
	}
	return v.report
}

func (v *Verifier) fail(pos domain.Position, kind Kind, seal int64, format string, args ...any) bool {
	v.report.FirstBad = &Problem{Position: pos, Kind: kind, Seal: seal, Detail: fmt.Sprintf(format, args...)}
	return false
}
