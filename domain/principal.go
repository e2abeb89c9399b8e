package domain

import (
	"fmt"
	"strings"
)

// Role is what a caller may do; see DESIGN.md's role table.
type Role string

const (
	RoleNational    Role = "national"
	RoleCoordinator Role = "coordinator"
	RoleIssuer      Role = "issuer"
	RoleVenue       Role = "venue"
	RoleAuditor     Role = "auditor"
	// RoleSystem is Kaiku itself (migrations, imports, seeding).
	RoleSystem Role = "system"
)

// ParseRole returns the role named s or an error listing the valid ones.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleNational, RoleCoordinator, RoleIssuer, RoleVenue, RoleAuditor, RoleSystem:
		return r, nil
	}
	return "", fmt.Errorf("role %q is not one of national, coordinator, issuer, venue, auditor", s)
}

// Principal is who caused an event: a role, the locality or partner it is
// scoped to (coordinators to a locality, issuers and venues to a partner),
// and the API key that authenticated it.
type Principal struct {
	Role     Role
	Locality string // coordinator scope
	Partner  string // issuer or venue scope
	KeyID    string // the API key's public id, "" for the CLI
}

// String renders the principal as the log stores it:
// "role[@scope][#key]", e.g. "coordinator@espoo#k_3f2a".
func (p Principal) String() string {
	var b strings.Builder
	b.WriteString(string(p.Role))
	switch {
	case p.Locality != "":
		b.WriteString("@" + p.Locality)
	case p.Partner != "":
		b.WriteString("@" + p.Partner)
	}
	if p.KeyID != "" {
		b.WriteString("#" + p.KeyID)
	}
	return b.String()
}

// ParsePrincipal reads the String form back.
func ParsePrincipal(s string) (Principal, error) {
	var p Principal
	rest, key, _ := strings.Cut(s, "#")
	p.KeyID = key
	role, scope, _ := strings.Cut(rest, "@")
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, fmt.Errorf("principal %q: %w", s, err)
	}
	p.Role = r
	switch r {
	case RoleCoordinator:
		p.Locality = scope
	case RoleIssuer, RoleVenue:
		p.Partner = scope
	}
	return p, nil
}

// System is the principal for work Kaiku does itself.
var System = Principal{Role: RoleSystem}
