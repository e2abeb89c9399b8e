package command

import (
	"context"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// JoinPartner is POST /v1/partners.
type JoinPartner struct {
	ID       partner.ID
	Locality locality.ID
	Name     string
	Kind     partner.Kind
	Category partner.Category
	Contact  domain.Person
	JoinedOn domain.Date
}

// JoinPartner makes a partner join its locality; see partner.Partner.Join.
func (h *Handler) JoinPartner(ctx context.Context, md domain.Metadata, c JoinPartner) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	if _, err := partner.ParseID(string(c.ID)); err != nil {
		return Result{}, err
	}
	if c.Locality != "" {
		if _, err := locality.ParseID(string(c.Locality)); err != nil {
			return Result{}, err
		}
	}
	on := h.date(c.JoinedOn)
	return update(ctx, h, md, on, partner.Stream(c.ID), partner.Load, func(ctx context.Context, p *partner.Partner) error {
		loc, err := h.locality(ctx, c.Locality, reference)
		if err != nil {
			return err
		}
		return p.Join(partner.Joined{ID: c.ID, Locality: c.Locality, Name: c.Name, Kind: c.Kind, Category: c.Category,
			Contact: c.Contact, JoinedOn: on}, loc.Facts())
	})
}

// ApproveIssuer is POST /v1/partners/{id}/approval.
type ApproveIssuer struct {
	Partner partner.ID
	On      domain.Date
}

// ApproveIssuer approves an issuer; see partner.Partner.ApproveIssuer.
func (h *Handler) ApproveIssuer(ctx context.Context, md domain.Metadata, c ApproveIssuer) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updatePartner(ctx, md, on, c.Partner, func(ctx context.Context, p *partner.Partner) error { return p.ApproveIssuer(on) })
}

// ChangeContact is PUT /v1/partners/{id}/contact.
type ChangeContact struct {
	Partner partner.ID
	Name    string
	Email   string
	Phone   string
	On      domain.Date
}

// ChangeContact replaces the partner's contact person; see
// partner.Partner.ChangeContact.
func (h *Handler) ChangeContact(ctx context.Context, md domain.Metadata, c ChangeContact) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	p := domain.Person{Name: c.Name, Email: c.Email, Phone: c.Phone}
	return h.updatePartner(ctx, md, on, c.Partner, func(ctx context.Context, pa *partner.Partner) error { return pa.ChangeContact(p, on) })
}

// CommitToGuideline is POST /v1/partners/{id}/commitments.
type CommitToGuideline struct {
	Partner          partner.ID
	GuidelineVersion guideline.Version
	Via              partner.Via
	On               domain.Date
}

// CommitToGuideline records a guideline commitment; see
// partner.Partner.CommitToGuideline. An unknown version is
// guideline.ErrUnknownVersion.
func (h *Handler) CommitToGuideline(ctx context.Context, md domain.Metadata, c CommitToGuideline) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updatePartner(ctx, md, on, c.Partner, func(ctx context.Context, p *partner.Partner) error {
		g, err := h.guideline(ctx, reference)
		if err != nil {
			return err
		}
		v, _ := g.Version(c.GuidelineVersion) // zero when unknown; the partner reports it
		return p.CommitToGuideline(v, c.Via, on)
	})
}

// LeavePartner is POST /v1/partners/{id}/departure.
type LeavePartner struct {
	Partner partner.ID
	On      domain.Date
	Reason  string
	Note    string
}

// LeavePartner records that the partner leaves; see partner.Partner.Leave.
func (h *Handler) LeavePartner(ctx context.Context, md domain.Metadata, c LeavePartner) (Result, error) {
	if err := c.check(h.today()); err != nil {
		return Result{}, err
	}
	on := h.date(c.On)
	return h.updatePartner(ctx, md, on, c.Partner, func(ctx context.Context, p *partner.Partner) error {
		return p.Leave(on, c.Reason, domain.NewNote(c.Note))
	})
}

func (h *Handler) updatePartner(ctx context.Context, md domain.Metadata, on domain.Date, id partner.ID, decide func(context.Context, *partner.Partner) error) (Result, error) {
	if _, err := partner.ParseID(string(id)); err != nil {
		return Result{}, err
	}
	return update(ctx, h, md, on, partner.Stream(id), partner.Load, func(ctx context.Context, p *partner.Partner) error {
		if !p.Exists() {
			return notFound("partner", id)
		}
		return decide(ctx, p)
	})
}
