package httpapi

import (
	"net/url"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

// The form door refuses what the JSON door refuses, with the same codes
// and fields.
func TestDecodeFormIsAsStrictAsTheJSONDoor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		form       url.Values
		code, fld  string
		jsonTwin   string // the same request as JSON, "" when it has none
		checkValue func(t *testing.T, r issueCardRequest)
	}{
		{name: "a full form decodes into the request type",
			form: url.Values{"id": {"K-0001234"}, "kind": {"personal"}, "holder.birthYear": {"1971"}, "holder.postalCode": {"02100"},
				"holder.minorChildren": {"2"}, "holder.gender": {""}, "issuedOn": {"2024-03-01"}},
			checkValue: func(t *testing.T, r issueCardRequest) {
				if r.ID != "K-0001234" || r.Holder.BirthYear != 1971 || r.Holder.MinorChildren == nil || *r.Holder.MinorChildren != 2 ||
					r.Holder.Gender != "" || r.IssuedOn.String() != "2024-03-01" {
					t.Fatalf("decoded %+v", r)
				}
			}},
		{name: "an unknown field is refused", form: url.Values{"id": {"K-1"}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"0"}, "colour": {"red"}},
			code: "unknown_field", fld: "colour",
			jsonTwin: `{"id":"K-1","kind":"personal","holder":{"postalCode":"02100","minorChildren":0},"colour":"red"}`},
		{name: "a holder's name is refused as personal data", form: url.Values{"id": {"K-1"}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"0"}, "holder.name": {"Matti"}},
			code: "personal_data_refused", fld: "holder.name",
			jsonTwin: `{"id":"K-1","kind":"personal","holder":{"postalCode":"02100","minorChildren":0,"name":"Matti"}}`},
		{name: "a field sent twice is refused", form: url.Values{"id": {"K-1", "K-2"}, "kind": {"personal"}},
			code: "duplicate_key", fld: "id"},
		{name: "a missing required field is refused", form: url.Values{"id": {"K-1"}, "kind": {"personal"}, "holder.postalCode": {"02100"}},
			code: "missing_field", fld: "holder.minorChildren",
			jsonTwin: `{"id":"K-1","kind":"personal","holder":{"postalCode":"02100"}}`},
		{name: "a required field left empty is missing", form: url.Values{"id": {""}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"0"}},
			code: "missing_field", fld: "id"},
		{name: "a number that is not one is the wrong type", form: url.Values{"id": {"K-1"}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"two"}},
			code: "wrong_type", fld: "holder.minorChildren",
			jsonTwin: `{"id":"K-1","kind":"personal","holder":{"postalCode":"02100","minorChildren":"two"}}`},
		{name: "a date that is not a calendar date is refused", form: url.Values{"id": {"K-1"}, "kind": {"personal"}, "holder.postalCode": {"02100"}, "holder.minorChildren": {"0"}, "issuedOn": {"2024-02-30"}},
			code: "invalid_value", fld: "issuedOn",
			jsonTwin: `{"id":"K-1","kind":"personal","holder":{"postalCode":"02100","minorChildren":0},"issuedOn":"2024-02-30"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r issueCardRequest
			err := DecodeForm(tc.form, &r)
			if tc.jsonTwin != "" {
				var twin issueCardRequest
				jerr := decodeBytes([]byte(tc.jsonTwin), &twin)
				if domain.CodeOf(err) != domain.CodeOf(jerr) || ProblemFor(err).Field != ProblemFor(jerr).Field || jerr == nil {
					t.Fatalf("form: %v; JSON: %v", err, jerr)
				}
			}
			if tc.checkValue != nil {
				if err != nil {
					t.Fatal(err)
				}
				tc.checkValue(t, r)
				return
			}
			if tc.code == "" {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if got := ProblemFor(err); got.Code != tc.code || got.Field != tc.fld {
				t.Fatalf("error %v: code %q field %q, want %q %q", err, got.Code, got.Field, tc.code, tc.fld)
			}
		})
	}
}

// A checkbox's "true" and a count decode into their JSON types; an
// unchecked box leaves the field out (false).
func TestDecodeFormTypesByField(t *testing.T) {
	t.Parallel()
	var r recordUseRequest
	if err := DecodeForm(url.Values{"childTickets": {"2"}, "assistant": {"true"}, "kind": {"course"}}, &r); err != nil {
		t.Fatal(err)
	}
	if r.ChildTickets != 2 || !r.Assistant || r.Kind != "course" {
		t.Fatalf("decoded %+v", r)
	}
	if err := DecodeForm(url.Values{"assistant": {"on"}}, &r); ProblemFor(err).Code != "wrong_type" {
		t.Fatalf("assistant=on: %v", err)
	}
}
