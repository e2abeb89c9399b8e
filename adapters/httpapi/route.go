package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

// HandlerFunc is a route's handler. It writes its success answer itself
// (WriteJSON) and returns any error for WriteError to map to a problem.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP lets a HandlerFunc be used as an http.Handler.
func (h HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// Route is one row of the API's route table: everything the router, the
// role gate, the personal-data guard, idempotency and the OpenAPI document
// need to know about one endpoint.
type Route struct {
	Method  string // http.MethodGet, …
	Pattern string // chi pattern, e.g. "/v1/cards/{id}/renewal"
	// Roles may call the route; the role gate answers 403 to others before
	// the handler runs. The handler then checks scope with Authorize.
	// Empty only with Public.
	Roles   []domain.Role
	Public  bool // no authentication (health, metrics, the OpenAPI document)
	Summary string
	// Request is a value of the JSON body type (for the OpenAPI schema);
	// nil when the route takes no body. Tag required fields `required:"true"`.
	Request any
	// RequestContentType is the body's media type when it is not JSON
	// ("text/csv"); the handler decodes it.
	RequestContentType string
	// MaxBody caps this route's body instead of Config.MaxBodyBytes.
	MaxBody int64
	// Response is a value of the success body type, or nil.
	Response any
	// Status is the success status; 0 means 201 for POST, else 200.
	Status int
	// Query documents the route's query parameters (OpenAPI only; the
	// handler parses them).
	Query   []QueryParam
	Handler HandlerFunc
}

// QueryParam is one documented query parameter of a route.
type QueryParam struct {
	Name        string
	Description string
	Format      string // "date", "date-time", "integer", or "" for a plain string
	Required    bool
}

// successStatus is the route's documented success status.
func (rt Route) successStatus() int {
	switch {
	case rt.Status != 0:
		return rt.Status
	case rt.Method == http.MethodPost:
		return http.StatusCreated
	}
	return http.StatusOK
}

// validate reports a route-table mistake.
func (rt Route) validate() error {
	switch rt.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("route %s %s: unsupported method", rt.Method, rt.Pattern)
	}
	if !strings.HasPrefix(rt.Pattern, "/") {
		return fmt.Errorf("route %s %s: pattern must start with /", rt.Method, rt.Pattern)
	}
	if rt.Handler == nil {
		return fmt.Errorf("route %s %s: no handler", rt.Method, rt.Pattern)
	}
	if rt.Public == (len(rt.Roles) > 0) {
		return fmt.Errorf("route %s %s: give it roles or mark it public, not both or neither", rt.Method, rt.Pattern)
	}
	for _, role := range rt.Roles {
		if _, err := domain.ParseRole(string(role)); err != nil || role == domain.RoleSystem {
			return fmt.Errorf("route %s %s: role %q cannot call the API", rt.Method, rt.Pattern, role)
		}
	}
	return nil
}
