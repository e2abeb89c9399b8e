package postgres

import (
	"context"
	"encoding/json"

	"github.com/kaiku/kaiku/domain"
)

// SealPersonal makes the store seal every personal part it appends with
// its subject's data key from k, and open sealed parts it reads. Call it
// before the store is used. Without it the store appends personal parts in
// plain text and fails reads of sealed ones with ErrSealed.
func (s *Store) SealPersonal(k *Keyring) { s.keys = k }

// Keyring returns the keyring SealPersonal gave, or nil.
func (s *Store) Keyring() *Keyring { return s.keys }

// sealBatch returns batch with every personal part sealed (new record
// slices; the caller's are untouched) and the plain parts in append order,
// or batch itself and nil when there is nothing to seal. Data keys of new
// subjects are created by q.
func (s *Store) sealBatch(ctx context.Context, q Querier, batch []domain.StreamAppend) ([]domain.StreamAppend, []json.RawMessage, error) {
	if s.keys == nil {
		return batch, nil, nil
	}
	has := false
	for _, p := range batch {
		for i := range p.Records {
			if len(p.Records[i].Personal) > 0 {
				has = true
			}
		}
	}
	if !has {
		return batch, nil, nil
	}
	out := make([]domain.StreamAppend, len(batch))
	var plain []json.RawMessage
	for b, p := range batch {
		out[b] = p
		out[b].Records = append([]domain.Record(nil), p.Records...)
		for i := range out[b].Records {
			r := &out[b].Records[i]
			plain = append(plain, r.Personal)
			if len(r.Personal) == 0 {
				continue
			}
			sealed, err := s.keys.seal(ctx, q, r.Subject, r.Personal)
			if err != nil {
				return nil, nil, err
			}
			r.Personal = sealed
		}
	}
	return out, plain, nil
}

// unseal puts the plain parts sealBatch returned back into the appended
// records, which are in append order.
func unseal(out []domain.Record, plain []json.RawMessage) {
	if plain == nil || len(out) != len(plain) {
		return
	}
	for i := range out {
		out[i].Personal = plain[i]
	}
}

// openRecords opens sealed personal parts of records read by q.
func (s *Store) openRecords(ctx context.Context, q Querier, recs []domain.Record) error {
	if s.keys == nil {
		if hasSealed(recs) {
			return ErrSealed
		}
		return nil
	}
	return s.keys.open(ctx, q, recs)
}
