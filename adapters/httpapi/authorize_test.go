package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

func TestAuthorizeChecksScope(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		p     domain.Principal
		s     httpapi.Scope
		allow bool
	}{
		{"national acts on any locality", national, httpapi.Scope{Locality: "vantaa"}, true},
		{"an auditor reads any partner", auditor, httpapi.Scope{Partner: "x"}, true},
		{"a coordinator acts on its own locality", coordinator, httpapi.Scope{Locality: "espoo"}, true},
		{"a coordinator may not act on another locality", coordinator, httpapi.Scope{Locality: "vantaa"}, false},
		{"a coordinator may not act without a named locality", coordinator, httpapi.Scope{}, false},
		{"an issuer acts as itself", issuer, httpapi.Scope{Partner: "espoo-sos-1"}, true},
		{"an issuer may not act as another office", issuer, httpapi.Scope{Partner: "espoo-sos-2"}, false},
		{"a venue acts as itself", venue, httpapi.Scope{Partner: "espoo-museum", Locality: "espoo"}, true},
		{"a venue may not act without a named partner", venue, httpapi.Scope{Locality: "espoo"}, false},
		{"the system role may not use the API", domain.System, httpapi.Scope{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := httpapi.Authorize(tc.p, tc.s)
			if (err == nil) != tc.allow {
				t.Fatalf("Authorize(%v, %+v) = %v, want allowed %v", tc.p, tc.s, err, tc.allow)
			}
			if err != nil && httpapi.ProblemFor(err).Code != "forbidden" {
				t.Fatalf("refusal maps to %+v", httpapi.ProblemFor(err))
			}
		})
	}
}

func TestRoleGateFollowsTheRouteTable(t *testing.T) {
	t.Parallel()
	routes := []httpapi.Route{
		{Method: "POST", Pattern: "/v1/localities", Roles: []domain.Role{domain.RoleNational}, Request: struct{}{}, Handler: ok},
		{Method: "GET", Pattern: "/v1/compliance", Roles: []domain.Role{domain.RoleNational, domain.RoleCoordinator, domain.RoleAuditor}, Handler: ok},
		{Method: "POST", Pattern: "/v1/cards/{id}/uses", Roles: []domain.Role{domain.RoleVenue}, Handler: ok},
		// A table mistake: the auditor must still not write.
		{Method: "POST", Pattern: "/v1/mistake", Roles: []domain.Role{domain.RoleAuditor}, Handler: ok},
	}
	e := newEnv(t, httpapi.Config{Routes: routes})
	keys := map[domain.Role]string{}
	for _, p := range []domain.Principal{national, auditor, coordinator, issuer, venue} {
		keys[p.Role] = e.key(t, p)
	}
	for _, rt := range e.server.Routes() {
		if rt.Public {
			continue
		}
		for _, role := range allRoles {
			want := http.StatusOK
			if !httpapi.Allowed(role, rt.Method, rt.Roles) {
				want = http.StatusForbidden
			}
			t.Run(string(role)+" "+rt.Method+" "+rt.Pattern, func(t *testing.T) {
				a := e.do(t, rt.Method, rt.Pattern, keys[role], `{}`)
				if a.status != want {
					t.Fatalf("status %d, want %d: %s", a.status, want, a.body)
				}
				if want == http.StatusForbidden && a.prob.Code != "forbidden" {
					t.Fatalf("403 with code %q", a.prob.Code)
				}
			})
		}
	}
	if httpapi.Allowed(domain.RoleAuditor, "POST", []domain.Role{domain.RoleAuditor}) {
		t.Fatal("an auditor must never be allowed to write")
	}
}
