package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/partner"
)

// IssueCard is POST /v1/cards.
type IssueCard struct {
	ID       card.ID
	Issuer   partner.ID
	IssuedOn domain.Date
	Kind     card.Kind
	Holder   card.Holder
}

// IssueCard registers a new card under the guideline in force on its
// issue date; see card.Card.Issue. A taken card number is card.ErrExists
// and no guideline in force is guideline.ErrNoGuidelineInForce.
func (h *Handler) IssueCard(ctx context.Context, md domain.Metadata, c IssueCard) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	if _, err := card.ParseID(string(c.ID)); err != nil {
		return Result{}, err
	}
	on := h.date(c.IssuedOn)
	return update(ctx, h, md, on, card.Stream(c.ID), card.Load, func(ctx context.Context, cd *card.Card) error {
		if cd.Exists() {
			return card.ErrExists
		}
		issuer, err := h.partner(ctx, c.Issuer, reference)
		if err != nil {
			return err
		}
		loc, err := h.locality(ctx, issuer.Facts().Locality, reference)
		if err != nil {
			return err
		}
		rules, err := h.rulesAt(ctx, on)
		if err != nil {
			return err
		}
		return cd.Issue(card.Issuance{Card: c.ID, Issuer: c.Issuer, IssuedOn: on, Kind: c.Kind, Holder: c.Holder},
			issuer.Facts(), loc.Facts(), rules)
	})
}

// RenewCard is POST /v1/cards/{id}/renewal. Issuer is the renewing
// office; when empty it is the principal's partner if the principal is an
// issuer, and otherwise (Kaikukeskus, the system) the issuing unit itself.
type RenewCard struct {
	Card   card.ID
	Issuer partner.ID
	On     domain.Date
}

// RenewCard renews a card under the guideline in force on the renewal
// date; see card.Card.Renew.
func (h *Handler) RenewCard(ctx context.Context, md domain.Metadata, c RenewCard) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	by := c.Issuer
	if by == "" && md.Principal.Role == domain.RoleIssuer {
		by = partner.ID(md.Principal.Partner)
	}
	return h.updateCard(ctx, md, on, c.Card, func(ctx context.Context, cd *card.Card) error {
		rules, err := h.rulesAt(ctx, on)
		if err != nil {
			return err
		}
		return cd.Renew(on, by, rules)
	})
}

// ReplaceCard is POST /v1/cards/{id}/replacement.
type ReplaceCard struct {
	Card      card.ID
	NewCardID card.ID
	On        domain.Date
}

// ReplaceCard replaces a lost card by a new card, appending card.Replaced
// to the old card's stream and card.ReplacementIssued to the new one's in
// one atomic batch; see card.Replace. It retries on conflicts like every
// command.
func (h *Handler) ReplaceCard(ctx context.Context, md domain.Metadata, c ReplaceCard) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	if _, err := card.ParseID(string(c.Card)); err != nil {
		return Result{}, err
	}
	if _, err := card.ParseID(string(c.NewCardID)); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	oldStream, newStream := card.Stream(c.Card), card.Stream(c.NewCardID)
	mode := target // as in update: decide on the cache, guarded by both expected versions
	for attempt := 0; ; attempt++ {
		oldEvents, oldVersion, oldUnconfirmed, err := h.load(ctx, oldStream, mode)
		if err != nil {
			return Result{}, err
		}
		newEvents, newVersion, newUnconfirmed, err := h.load(ctx, newStream, mode)
		if err != nil {
			return Result{}, err
		}
		unconfirmed := oldUnconfirmed || newUnconfirmed
		mode = fresh
		old, nc := card.Load(oldEvents), card.Load(newEvents)
		if !old.Exists() {
			if unconfirmed {
				attempt--
				continue
			}
			return Result{}, notFound("card", c.Card)
		}
		if err := card.Replace(old, nc, c.NewCardID, on); err != nil {
			if unconfirmed {
				attempt--
				continue
			}
			return Result{}, err
		}
		oldRecords, err := encode(old.Changes(), md, on)
		if err != nil {
			return Result{}, err
		}
		newRecords, err := encode(nc.Changes(), md, on)
		if err != nil {
			return Result{}, err
		}
		started := h.cacheNow()
		out, err := h.store.AppendBatch(ctx, []domain.StreamAppend{
			{Stream: oldStream, Expected: oldVersion, Records: oldRecords},
			{Stream: newStream, Expected: newVersion, Records: newRecords},
		})
		if errors.Is(err, domain.ErrConflict) && attempt < h.retries && ctx.Err() == nil {
			continue
		}
		if err != nil {
			if !errors.Is(err, domain.ErrConflict) {
				h.forget(oldStream)
				h.forget(newStream)
			}
			return Result{}, fmt.Errorf("append replacement of %s by %s: %w", c.Card, c.NewCardID, err)
		}
		if len(out) == len(oldRecords)+len(newRecords) {
			h.wrote(oldStream, oldEvents, oldVersion, out[:len(oldRecords)], started)
			h.wrote(newStream, newEvents, newVersion, out[len(oldRecords):], started)
		} else {
			h.forget(oldStream)
			h.forget(newStream)
		}
		return Result{Records: out}, nil
	}
}

// CorrectCard is PATCH /v1/cards/{id}: the fields given replace the
// registered ones.
type CorrectCard struct {
	Card          card.ID
	On            domain.Date
	MinorChildren *int
	PostalCode    *string
	LifeSituation *string
	Gender        *string
	BirthYear     *int
}

// CorrectCard corrects the holder's details; see card.Card.Correct.
func (h *Handler) CorrectCard(ctx context.Context, md domain.Metadata, c CorrectCard) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateCard(ctx, md, on, c.Card, func(ctx context.Context, cd *card.Card) error {
		return cd.Correct(card.DetailsCorrected{On: on, MinorChildren: c.MinorChildren, PostalCode: c.PostalCode,
			LifeSituation: c.LifeSituation, Gender: c.Gender, BirthYear: c.BirthYear})
	})
}

// CancelCard is POST /v1/cards/{id}/cancellation.
type CancelCard struct {
	Card   card.ID
	On     domain.Date
	Reason string
	Note   string
}

// CancelCard cancels a card; see card.Card.Cancel.
func (h *Handler) CancelCard(ctx context.Context, md domain.Metadata, c CancelCard) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateCard(ctx, md, on, c.Card, func(ctx context.Context, cd *card.Card) error { return cd.Cancel(on, c.Reason, domain.NewNote(c.Note)) })
}

// RecordUse is POST /v1/cards/{id}/uses. ID is optional; the handler
// assigns a UUID when it is empty (once, so retries keep it).
type RecordUse struct {
	Card         card.ID
	ID           card.UseID
	Venue        partner.ID
	UsedOn       domain.Date
	Category     string
	Kind         card.UseKind
	ChildTickets int
	Assistant    bool
}

// RecordUse records a use under the guideline in force on its date; see
// card.Card.RecordUse. Unlike the other card commands, a card that is not
// registered is the rule violation card.ErrNotRegistered (a venue scanned
// an unknown card), not domain.ErrNotFound.
func (h *Handler) RecordUse(ctx context.Context, md domain.Metadata, c RecordUse) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	if _, err := card.ParseID(string(c.Card)); err != nil {
		return Result{}, err
	}
	if c.ID == "" {
		c.ID = card.UseID(domain.NewEventID())
	}
	on := h.date(c.UsedOn)
	res, err := update(ctx, h, md, on, card.Stream(c.Card), card.Load, func(ctx context.Context, cd *card.Card) error {
		if !cd.Exists() {
			return domain.Violationf(card.ErrNotRegistered.Code, "card %s is not registered", c.Card)
		}
		venue, err := h.partner(ctx, c.Venue, reference)
		if err != nil {
			return err
		}
		cardLoc, err := h.locality(ctx, cd.Locality(), reference)
		if err != nil {
			return err
		}
		venueLoc := cardLoc
		if v := venue.Facts().Locality; v != cd.Locality() {
			if venueLoc, err = h.locality(ctx, v, reference); err != nil {
				return err
			}
		}
		rules, err := h.rulesAt(ctx, on)
		if err != nil {
			return err
		}
		return cd.RecordUse(card.Use{ID: c.ID, Venue: c.Venue, UsedOn: on, Category: c.Category, Kind: c.Kind,
			ChildTickets: c.ChildTickets, Assistant: c.Assistant},
			card.VenueFacts{Venue: venue.Facts(), CardLocality: cardLoc.Facts(), VenueLocality: venueLoc.Facts()}, rules)
	})
	if err != nil {
		return Result{}, err
	}
	res.UseID = string(c.ID)
	return res, nil
}

// CancelUse is POST /v1/cards/{id}/uses/{useId}/cancellation.
type CancelUse struct {
	Card   card.ID
	Use    card.UseID
	Reason string
	Note   string
	On     domain.Date
}

// CancelUse voids a wrongly recorded use; see card.Card.CancelUse.
func (h *Handler) CancelUse(ctx context.Context, md domain.Metadata, c CancelUse) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updateCard(ctx, md, on, c.Card, func(ctx context.Context, cd *card.Card) error {
		return cd.CancelUse(c.Use, c.Reason, domain.NewNote(c.Note), on)
	})
}

func (h *Handler) updateCard(ctx context.Context, md domain.Metadata, on domain.Date, id card.ID, decide func(context.Context, *card.Card) error) (Result, error) {
	if _, err := card.ParseID(string(id)); err != nil {
		return Result{}, err
	}
	return update(ctx, h, md, on, card.Stream(id), card.Load, func(ctx context.Context, cd *card.Card) error {
		if !cd.Exists() {
			return notFound("card", id)
		}
		return decide(ctx, cd)
	})
}
