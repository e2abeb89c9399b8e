package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

type cardBody struct {
	ID     string      `json:"id" required:"true"`
	On     domain.Date `json:"on"`
	Holder struct {
		BirthYear int `json:"birthYear" required:"true"`
	} `json:"holder"`
}

func TestServerEndpoints(t *testing.T) {
	t.Parallel()
	var md domain.Metadata
	e := newEnv(t, httpapi.Config{
		Ready: []httpapi.Check{{Name: "projections", Ready: func(context.Context) error { return errors.New("stats projection stopped") }}},
		Routes: []httpapi.Route{
			{Method: "POST", Pattern: "/v1/cards", Roles: []domain.Role{domain.RoleIssuer}, Request: cardBody{}, Summary: "Issue a card.",
				Handler: func(w http.ResponseWriter, r *http.Request) error {
					md = httpapi.MetadataFrom(r)
					var b cardBody
					if err := httpapi.Decode(r, &b); err != nil {
						return err
					}
					return httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"id": b.ID})
				}},
			{Method: "GET", Pattern: "/v1/panic", Roles: allRoles, Handler: func(http.ResponseWriter, *http.Request) error { panic("boom") }},
		},
	})
	key := e.key(t, issuer)

	cases := []struct {
		name   string
		method string
		path   string
		key    string
		body   string
		hdr    []string
		status int
		code   string
		has    string // in the body
	}{
		{"healthz answers while the process runs", "GET", "/healthz", "", "", nil, 200, "", `"ok"`},
		{"readyz names a failing check and answers 503", "GET", "/readyz", "", "", nil, 503, "", `"projections":"failing"`},
		{"readyz does not leak the failure's reason", "GET", "/readyz", "", "", nil, 503, "", `"not ready"`},
		{"an unknown route is a not_found problem", "GET", "/v1/nowhere", "", "", nil, 404, "not_found", ""},
		{"a wrong method is a method_not_allowed problem", "DELETE", "/v1/cards", key, "", nil, 405, "method_not_allowed", ""},
		{"a panic is a 500 internal problem", "GET", "/v1/panic", key, "", nil, 500, "internal", ""},
		{"a command decodes strictly", "POST", "/v1/cards", key, `{"id":"K-1","holder":{}}`, nil, 400, "missing_field", "holder.birthYear"},
		{"a command runs", "POST", "/v1/cards", key, `{"id":"K-1","holder":{"birthYear":1971}}`, nil, 201, "", `"K-1"`},
		{"a correlation id that is not a UUID is refused", "GET", "/healthz", "", "", []string{httpapi.CorrelationHeader, "abc"}, 400, "invalid_correlation_id", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, tc.method, tc.path, tc.key, tc.body, tc.hdr...)
			if a.status != tc.status || a.prob.Code != tc.code || !strings.Contains(a.body, tc.has) {
				t.Fatalf("got %d %q %s, want %d %q containing %q", a.status, a.prob.Code, a.body, tc.status, tc.code, tc.has)
			}
			if a.header.Get(httpapi.RequestIDHeader) == "" || (tc.status != 400 && a.header.Get(httpapi.CorrelationHeader) == "") {
				t.Fatalf("missing id headers: %v", a.header)
			}
		})
	}

	t.Run("a caller's correlation id reaches the command's metadata", func(t *testing.T) {
		corr := string(domain.NewEventID())
		a := e.do(t, "POST", "/v1/cards", key, `{"id":"K-2","holder":{"birthYear":1971}}`, httpapi.CorrelationHeader, corr)
		if a.status != 201 || string(md.CorrelationID) != corr || a.header.Get(httpapi.CorrelationHeader) != corr {
			t.Fatalf("status %d, metadata %+v, header %q; want correlation %s", a.status, md, a.header.Get(httpapi.CorrelationHeader), corr)
		}
		if md.Principal.Role != domain.RoleIssuer || md.Principal.KeyID == "" || md.CausationID == "" {
			t.Fatalf("metadata %+v lacks principal or causation", md)
		}
	})

	t.Run("metrics count requests by route pattern", func(t *testing.T) {
		a := e.do(t, "GET", "/metrics", "", "")
		for _, want := range []string{
			`kaiku_http_requests_total{method="POST",route="/v1/cards",status="201"}`,
			`kaiku_http_requests_total{method="GET",route="/v1/panic",status="500"}`,
			`kaiku_http_request_duration_seconds_bucket{method="POST",route="/v1/cards"`,
		} {
			if !strings.Contains(a.body, want) {
				t.Fatalf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("the OpenAPI document describes the route table", func(t *testing.T) {
		a := e.do(t, "GET", "/openapi.json", "", "")
		var doc struct {
			OpenAPI string                               `json:"openapi"`
			Paths   map[string]map[string]map[string]any `json:"paths"`
			Comps   struct {
				Schemas map[string]map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
			t.Fatal(err)
		}
		op := doc.Paths["/v1/cards"]["post"]
		if doc.OpenAPI != "3.1.0" || op == nil || doc.Paths["/healthz"]["get"] == nil {
			t.Fatalf("document lacks operations: %s", a.body)
		}
		if roles, _ := op["x-roles"].([]any); len(roles) != 1 || roles[0] != "issuer" {
			t.Fatalf("x-roles = %v", op["x-roles"])
		}
		body := doc.Comps.Schemas["cardBody"]
		if req, _ := body["required"].([]any); len(req) != 1 || req[0] != "id" {
			t.Fatalf("cardBody schema %v", body)
		}
		if on := body["properties"].(map[string]any)["on"].(map[string]any); on["format"] != "date" {
			t.Fatalf("a date is %v", on)
		}
	})
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := httpapi.New(httpapi.Config{Keys: noKeys{}, Routes: []httpapi.Route{{
		Method: "GET", Pattern: "/slow", Public: true,
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			close(entered)
			<-release
			return httpapi.WriteJSON(w, 200, map[string]string{"done": "yes"})
		},
	}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	cancel() // shutdown starts while /slow is in flight
	for {
		// New connections are refused once shutdown has begun.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		waitABit()
	}
	close(release)
	if body := <-got; !strings.Contains(body, `"done":"yes"`) {
		t.Fatalf("the in-flight request got %q, want its answer", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve() = %v, want nil after a clean shutdown", err)
	}
}

func TestNewRefusesABadRouteTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		route httpapi.Route
	}{
		{"a route with neither roles nor public", httpapi.Route{Method: "GET", Pattern: "/x", Handler: ok}},
		{"a route both public and with roles", httpapi.Route{Method: "GET", Pattern: "/x", Public: true, Roles: allRoles, Handler: ok}},
		{"a route open to the system role", httpapi.Route{Method: "GET", Pattern: "/x", Roles: []domain.Role{domain.RoleSystem}, Handler: ok}},
		{"a route without a handler", httpapi.Route{Method: "GET", Pattern: "/x", Roles: allRoles}},
		{"a route shadowing a built-in one", httpapi.Route{Method: "GET", Pattern: "/healthz", Public: true, Handler: ok}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Fatal("New() accepted the route")
				}
			}()
			httpapi.New(httpapi.Config{Keys: noKeys{}, Routes: []httpapi.Route{tc.route}})
		})
	}
}

// noKeys knows no key at all.
type noKeys struct{}

func (noKeys) Authenticate(context.Context, string) (domain.Principal, error) {
	return domain.Principal{}, domain.ErrNotFound
}
