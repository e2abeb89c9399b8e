package command_test

import (
	"context"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

func TestCheckPrincipal(t *testing.T) {
	t.Parallel()
	h := seed(t, newStore(t))
	ctx := context.Background()
	tests := []struct {
		name string
		p    domain.Principal
		want string
	}{
		{"a coordinator of a registered locality", domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"}, ""},
		{"a coordinator of a locality never registered", domain.Principal{Role: domain.RoleCoordinator, Locality: "atlantis"}, "unknown_locality"},
		{"an issuer office that joined as an issuer", domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-sos-1"}, ""},
		{"an issuer key for a venue", domain.Principal{Role: domain.RoleIssuer, Partner: "espoo-museum"}, "partner_kind_mismatch"},
		{"a venue key for an issuer office", domain.Principal{Role: domain.RoleVenue, Partner: "espoo-sos-1"}, "partner_kind_mismatch"},
		{"a venue that joined as a venue", domain.Principal{Role: domain.RoleVenue, Partner: "espoo-museum"}, ""},
		{"a partner that never joined", domain.Principal{Role: domain.RoleVenue, Partner: "nowhere"}, "unknown_partner"},
		{"national has no scope to check", domain.Principal{Role: domain.RoleNational}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.CodeOf(h.CheckPrincipal(ctx, tt.p)); got != tt.want {
				t.Fatalf("CheckPrincipal(%s) code %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}
