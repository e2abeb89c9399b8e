package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/kaiku/kaiku/domain"
)

// Scope is what a request touches: a locality, a partner (an issuer office
// or a venue), or both. Routes fill in what they know from the path, the
// query or the body.
type Scope struct {
	Locality string
	Partner  string
}

// Authorize returns nil when p may act within s, else a *domain.Forbidden
// (403 forbidden) whose message names only the principal's own scope,
// never s: s is often what a route loaded (the venue that recorded a
// use, the locality of a partner), and naming it would tell the caller
// what it may not read. Which roles may call a route at all is the route
// table's business (Route.Roles, checked before the handler runs); this
// checks the principal's scope, failing closed:
//
//   - national and auditor act on every locality and partner (auditors
//     never reach a write route: the role gate refuses them);
//   - a coordinator only within its own locality: s.Locality must be its
//     locality (an empty one is refused);
//   - an issuer or a venue only as itself: s.Partner must be its own
//     partner id (an empty one is refused). A route that only learns the
//     owner after loading (the issuer of card K) passes the principal's own
//     partner and the command layer compares it with the aggregate's.
func Authorize(p domain.Principal, s Scope) error {
	switch p.Role {
	case domain.RoleNational, domain.RoleAuditor:
		return nil
	case domain.RoleCoordinator:
		if p.Locality != "" && s.Locality == p.Locality {
			return nil
		}
		return &domain.Forbidden{Message: fmt.Sprintf("a coordinator of %s may act only within locality %s", p.Locality, p.Locality)}
	case domain.RoleIssuer, domain.RoleVenue:
		if p.Partner != "" && s.Partner == p.Partner {
			return nil
		}
		return &domain.Forbidden{Message: fmt.Sprintf("%s %s may act only as itself and on what it recorded", p.Role, p.Partner)}
	}
	return &domain.Forbidden{Message: fmt.Sprintf("role %q may not use the API", p.Role)}
}

// Allowed reports whether a principal with role may call a route open to
// roles. The auditor is refused every method but GET and HEAD whatever the
// table says, so a mistake in the table cannot let it write.
func Allowed(role domain.Role, method string, roles []domain.Role) bool {
	if role == domain.RoleAuditor && method != http.MethodGet && method != http.MethodHead {
		return false
	}
	return slices.Contains(roles, role)
}

// requireRoles is the role gate the Server puts before every non-public
// route's handler: 403 forbidden unless the principal's role is one of
// roles (see Allowed).
//
//	r.With(auth, requireRoles(route.Roles)).Post(...)
func requireRoles(roles []domain.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				WriteError(w, r, errUnauthenticated)
				return
			}
			if !Allowed(p.Role, r.Method, roles) {
				WriteError(w, r, &domain.Forbidden{Message: fmt.Sprintf("role %s may not %s %s", p.Role, r.Method, r.URL.Path)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
