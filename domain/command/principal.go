package command

import (
	"context"
	"errors"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// CheckPrincipal checks that p's scope names what is in the log, before an
// API key is made for it: a coordinator's locality was registered, an
// issuer's partner joined as an issuer office and a venue's as a venue.
// It returns a *domain.Invalid with code "unknown_locality",
// "unknown_partner" or "partner_kind_mismatch" (the field is the flag at
// fault: locality or partner), or the store's error. Roles without a scope
// (national, auditor) pass; the shape of the scope itself (which role
// takes which) is postgres.ValidateScope's.
func (h *Handler) CheckPrincipal(ctx context.Context, p domain.Principal) error {
	switch p.Role {
	case domain.RoleCoordinator:
		_, err := h.LoadLocality(ctx, locality.ID(p.Locality))
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("unknown_locality", "locality", "no locality %q was registered; list them with GET /v1/localities", p.Locality)
		}
		return err
	case domain.RoleIssuer, domain.RoleVenue:
		pt, err := h.LoadPartner(ctx, partner.ID(p.Partner))
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("unknown_partner", "partner", "no partner %q joined the network", p.Partner)
		}
		if err != nil {
			return err
		}
		want := partner.KindIssuer
		if p.Role == domain.RoleVenue {
			want = partner.KindVenue
		}
		if k := pt.Facts().Kind; k != want {
			return domain.Invalidf("partner_kind_mismatch", "partner", "partner %q is a %s, so it cannot hold a %s key", p.Partner, k, p.Role)
		}
	}
	return nil
}
