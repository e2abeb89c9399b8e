package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// sealTag separates seal hashes from chain hashes.
const sealTag = "kaiku.seal.v1"

// Seal vouches for the chained events with From <= position <= To: there
// are Count of them and the last one's chain hash is LastHash. Seals are
// numbered from 1 without gaps, each chained to the previous one's Hash
// (PrevHash is nil for the first), and together cover a prefix of the log
// without holes: a seal starts at the first chained event after the
// previous seal's To.
type Seal struct {
	Seq      int64
	From     domain.Position
	To       domain.Position
	Count    int64
	LastHash []byte
	PrevHash []byte
	// Keyed reports that Hash is an HMAC under the seal key rather than a
	// plain SHA-256.
	Keyed    bool
	Hash     []byte
	SealedAt time.Time
}

// SealHash returns the hash of s's content (everything but Hash, Keyed and
// SealedAt): HMAC-SHA256 keyed by key when key is not empty, else SHA-256.
// Without the key nobody can compute a keyed seal hash, so a keyed seal
// cannot be forged by someone who can only write the database.
func SealHash(key []byte, s Seal) []byte {
	w := encoder{h: sha256.New()}
	if len(key) > 0 {
		w.h = hmac.New(sha256.New, key)
	}
	w.str(sealTag)
	w.optional(s.PrevHash)
	w.i64(s.Seq)
	w.i64(int64(s.From))
	w.i64(int64(s.To))
	w.i64(s.Count)
	w.bytes(s.LastHash)
	return w.h.Sum(nil)
}

// NewSeal returns the seal following prev (nil for the first seal) over
// count chained events from..to whose last hash is last, hashed with key
// (keyed when key is not empty).
func NewSeal(key []byte, prev *Seal, from, to domain.Position, count int64, last []byte, at time.Time) Seal {
	s := Seal{Seq: 1, From: from, To: to, Count: count, LastHash: last, Keyed: len(key) > 0, SealedAt: at}
	if prev != nil {
		s.Seq = prev.Seq + 1
		s.PrevHash = prev.Hash
	}
	s.Hash = SealHash(key, s)
	return s
}
