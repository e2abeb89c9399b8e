package stats

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// copyThreshold is the batch size from which COPY beats one multi-row
// INSERT (COPY costs an extra round trip to set up).
const copyThreshold = 64

var (
	cardColumns = []string{"card", "root", "registered", "issuer", "issuer_locality", "issued_on", "birth_year", "postal_area", "age_group"}
	useColumns  = []string{"card", "use_id", "root", "used_on", "venue", "venue_locality", "issuer", "issuer_locality",
		"category", "kind", "child_tickets", "age_group", "postal_area", "cancelled", "use_key"}
)

// flush writes the pending rows to tx: cards first, then uses.
func (p *Projection) flush(ctx context.Context, tx pgx.Tx) error {
	if n := len(p.pending.cards); n > 0 {
		var err error
		if n >= copyThreshold {
			_, err = tx.CopyFrom(ctx, pgx.Identifier{p.schema, "cards"}, cardColumns, cardSource(p.pending.cards))
		} else {
			err = p.insertCards(ctx, tx)
		}
		if err != nil {
			return fmt.Errorf("write %d cards: %w", n, err)
		}
	}
	if n := len(p.pending.uses); n > 0 {
		var err error
		if n >= copyThreshold {
			_, err = tx.CopyFrom(ctx, pgx.Identifier{p.schema, "uses"}, useColumns, useSource(p.pending.uses))
		} else {
			err = p.insertUses(ctx, tx)
		}
		if err != nil {
			return fmt.Errorf("write %d uses: %w", n, err)
		}
	}
	if err := p.flushCancels(ctx, tx); err != nil {
		return err
	}
	p.pending.reset()
	return nil
}

func (p *Projection) insertCards(ctx context.Context, tx pgx.Tx) error {
	rows := p.pending.cards
	cols := make([][]any, len(cardColumns))
	for i := range cols {
		cols[i] = make([]any, len(rows))
	}
	for j, r := range rows {
		for i, v := range r.values() {
			cols[i][j] = v
		}
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (card, root, registered, issuer, issuer_locality, issued_on, birth_year, postal_area, age_group)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::text[], $6::date[], $7::int[], $8::text[], $9::text[])`,
		p.table("cards")), cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8])
	return err
}

func (p *Projection) insertUses(ctx context.Context, tx pgx.Tx) error {
	rows := p.pending.uses
	cols := make([][]any, len(useColumns))
	for i := range cols {
		cols[i] = make([]any, len(rows))
	}
	for j, r := range rows {
		for i, v := range r.values() {
			cols[i][j] = v
		}
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (card, use_id, root, used_on, venue, venue_locality, issuer, issuer_locality,
			category, kind, child_tickets, age_group, postal_area, cancelled, use_key)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::bool[], $15::int8[])`,
		p.table("uses")), cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], cols[12], cols[13], cols[14])
	return err
}

func (r *cardRow) values() []any {
	return []any{r.card, r.root, r.registered, r.issuer, r.locality, r.issuedOn.Time(), int32(r.birthYear), r.postalArea, r.ageGroup}
}

func (r *useRow) values() []any {
	return []any{r.card, r.use, r.root, r.usedOn.Time(), r.venue, r.venueLocality, r.issuer, r.issuerLocality,
		r.category, r.kind, int32(r.childTickets), r.ageGroup, r.postalArea, r.cancelled, useKeyOf(r.card, r.use)}
}

func cardSource(rows []cardRow) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return rows[i].values(), nil })
}

func useSource(rows []useRow) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return rows[i].values(), nil })
}

// useKeyOf is the FNV-1a hash of card and use id that the uses table
// indexes.
func useKeyOf(card, use string) int64 {
	h := fnv.New64a()
	h.Write([]byte(card))
	h.Write([]byte{0})
	h.Write([]byte(use))
	return int64(h.Sum64())
}
