package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/kaiku/kaiku/adapters/httpapi"
)

// The served document validates with a Go OpenAPI library, and describes
// itself: every operation lists its 4xx problems, every request field has
// a description and an example, and every closed list is an enum.
func TestTheOpenAPIDocumentValidatesAndDescribesItself(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	doc := a.server.OpenAPIDocument()
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	var raw struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	for path, ops := range raw.Paths {
		for method, op := range ops {
			responses, _ := op["responses"].(map[string]any)
			has4xx := false
			for status := range responses {
				has4xx = has4xx || status[0] == '4'
			}
			if !has4xx {
				t.Errorf("%s %s lists no 4xx problem", method, path)
			}
		}
	}
	for _, name := range []string{"issueCardRequest", "holderRequest", "recordUseRequest", "joinPartnerRequest", "cancelCardRequest"} {
		schema, ok := raw.Components.Schemas[name]
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		props, _ := schema["properties"].(map[string]any)
		for field, p := range props {
			pm, _ := p.(map[string]any)
			if pm["description"] == nil {
				t.Errorf("%s.%s has no description", name, field)
			}
			if pm["examples"] == nil && pm["allOf"] == nil {
				t.Errorf("%s.%s has no example", name, field)
			}
		}
	}
	enum := func(schema, field string) []any {
		p, _ := raw.Components.Schemas[schema]["properties"].(map[string]any)[field].(map[string]any)
		e, _ := p["enum"].([]any)
		return e
	}
	for _, c := range []struct{ schema, field string }{
		{"holderRequest", "lifeSituation"}, {"holderRequest", "gender"}, {"issueCardRequest", "kind"},
		{"cancelCardRequest", "reason"}, {"cancelUseRequest", "reason"}, {"joinPartnerRequest", "category"},
	} {
		if len(enum(c.schema, c.field)) < 2 {
			t.Errorf("%s.%s has no enum", c.schema, c.field)
		}
	}
	if req, _ := raw.Components.Schemas["issueCardRequest"]["required"].([]any); len(req) < 3 {
		t.Errorf("issueCardRequest requires %v", req)
	}
	_ = httpapi.IdempotencyHeader
}
