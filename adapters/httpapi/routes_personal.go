package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/personal"
)

// PersonalData erases and exports data subjects' personal data
// (postgres.PersonalData).
type PersonalData interface {
	// Erase destroys subject's key and personal data everywhere and
	// records personal.erased; domain.ErrNotFound for an unknown subject,
	// personal.ErrErased when erased already.
	Erase(ctx context.Context, s personal.Subject, reason personal.Reason, md domain.Metadata) (personal.Erasure, error)
	// Access returns everything held about subject; domain.ErrNotFound
	// for an unknown subject.
	Access(ctx context.Context, s personal.Subject) (personal.Access, error)
	// Redact replaces one field of a logged event by a redaction marker
	// and records redaction.made; domain.ErrNotFound for no such event,
	// a *domain.Invalid for a field that is no scalar of it.
	Redact(ctx context.Context, pos domain.Position, field string, reason personal.Reason, md domain.Metadata) (personal.RedactionRecord, error)
}

// RedactionRequest is the body of POST /v1/redactions.
type RedactionRequest struct {
	// Position is the event's position in the log.
	Position int64 `json:"position" required:"true"`
	// Field is a JSON pointer into the event's data, e.g. "/reason".
	Field string `json:"field" required:"true"`
	// Reason is a code, as for an erasure.
	Reason string `json:"reason" required:"true"`
}

// RedactionAnswer says what a redaction did: which field of which event,
// the digest of the replaced value, and where redaction.made was recorded.
type RedactionAnswer struct {
	Position   domain.Position `json:"position"`
	Field      string          `json:"field"`
	Digest     string          `json:"digest"`
	RecordedAt time.Time       `json:"recordedAt"`
	By         string          `json:"by"`
	Reason     personal.Reason `json:"reason"`
	At         domain.Position `json:"redactionPosition"`
}

// ErasureRequest is the body of POST /v1/personal-data/{subject}/erasure.
type ErasureRequest struct {
	// Reason is a code: subject_request, no_longer_needed, unlawful,
	// mistake or authority_order. Never free text.
	Reason string `json:"reason" required:"true"`
}

// ErasureAnswer says what an erasure did; it never holds the data.
type ErasureAnswer struct {
	Subject         personal.Subject `json:"subject"`
	Reason          personal.Reason  `json:"reason"`
	EventID         domain.EventID   `json:"eventId"`
	Position        domain.Position  `json:"position"`
	Parts           int              `json:"parts"`
	ReadModelRows   int64            `json:"readModelRows"`
	IdempotencyRows int64            `json:"idempotencyRows"`
	ParkedRows      int64            `json:"parkedRows"`
}

// SubjectAccess is GET /v1/personal-data/{subject}: everything held about
// a subject, each personal part with the event it comes from (GDPR art. 15).
type SubjectAccess struct {
	Subject      personal.Subject `json:"subject"`
	Kind         string           `json:"kind"`
	Erased       bool             `json:"erased"`
	KeyCreatedAt *time.Time       `json:"keyCreatedAt,omitempty"`
	ErasedAt     *time.Time       `json:"erasedAt,omitempty"`
	Parts        []PersonalPart   `json:"parts"`
	Erasures     []ErasureEntry   `json:"erasures"`
}

// PersonalPart is one event's personal part; personal is null once erased.
type PersonalPart struct {
	Position   domain.Position `json:"position"`
	EventID    domain.EventID  `json:"eventId"`
	Stream     domain.StreamID `json:"stream"`
	Version    domain.Version  `json:"version"`
	Event      string          `json:"event"`
	OccurredAt time.Time       `json:"occurredAt"`
	RecordedAt time.Time       `json:"recordedAt"`
	RecordedBy string          `json:"recordedBy"`
	Personal   any             `json:"personal"`
}

// ErasureEntry is one recorded erasure: when, by whom, why.
type ErasureEntry struct {
	Subject    personal.Subject `json:"subject"`
	Position   domain.Position  `json:"position"`
	EventID    domain.EventID   `json:"eventId"`
	RecordedAt time.Time        `json:"recordedAt"`
	By         string           `json:"by"`
	Reason     personal.Reason  `json:"reason"`
}

// errNoPersonal is a wiring mistake: Deps.Personal is nil.
var errNoPersonal = errors.New("personal data routes: no PersonalData configured")

// personalRoutes are the national-only routes of the personal data
// lifecycle.
func personalRoutes(d Deps) []Route {
	national := []domain.Role{domain.RoleNational}
	return []Route{
		{Method: http.MethodGet, Pattern: "/v1/personal-data/{subject}", Roles: national,
			Summary:  "Subject access (GDPR art. 15): every personal part held about a subject, with the events and dates it comes from.",
			Response: SubjectAccess{}, Handler: d.subjectAccess},
		{Method: http.MethodPost, Pattern: "/v1/personal-data/{subject}/erasure", Roles: national, Status: http.StatusOK,
			Summary: "Erase a subject's personal data (GDPR art. 17): destroys its key, removes its data everywhere, records personal.erased.",
			Request: ErasureRequest{}, Response: ErasureAnswer{}, Handler: d.erase},
		{Method: http.MethodPost, Pattern: "/v1/redactions", Roles: national, Status: http.StatusOK,
			Summary: "Replace one field of a logged event (personal data outside a personal part) by an audited redaction marker (PostgreSQL log only).",
			Request: RedactionRequest{}, Response: RedactionAnswer{}, Handler: d.redact},
	}
}

func (d Deps) redact(w http.ResponseWriter, r *http.Request) error {
	if d.Personal == nil {
		return errNoPersonal
	}
	var req RedactionRequest
	if err := decodeCommand(r, &req, false); err != nil {
		return err
	}
	if req.Position <= 0 {
		return domain.Invalidf("invalid_position", "position", "position must be an event's position in the log")
	}
	field, err := personal.ParsePointer(req.Field)
	if err != nil {
		return err
	}
	reason, err := personal.ParseReason(req.Reason)
	if err != nil {
		return err
	}
	x, err := d.Personal.Redact(r.Context(), domain.Position(req.Position), field, reason, MetadataFrom(r))
	if errors.Is(err, domain.ErrNotFound) {
		// The body names the event; the route itself exists.
		return &domain.Violation{Code: "no_such_event", Field: "position", Message: fmt.Sprintf("no event at position %d", req.Position)}
	}
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, RedactionAnswer(x))
}

func (d Deps) erase(w http.ResponseWriter, r *http.Request) error {
	if d.Personal == nil {
		return errNoPersonal
	}
	s, err := personal.ParseSubject(chi.URLParam(r, "subject"))
	if err != nil {
		return err
	}
	var req ErasureRequest
	if err := decodeCommand(r, &req, false); err != nil {
		return err
	}
	reason, err := personal.ParseReason(req.Reason)
	if err != nil {
		return err
	}
	e, err := d.Personal.Erase(r.Context(), s, reason, MetadataFrom(r))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, ErasureAnswer{Subject: e.Subject, Reason: e.Reason, EventID: e.Event.ID,
		Position: e.Event.Position, Parts: e.Parts, ReadModelRows: e.ReadModelRows,
		IdempotencyRows: e.IdempotencyRows, ParkedRows: e.ParkedRows})
}

func (d Deps) subjectAccess(w http.ResponseWriter, r *http.Request) error {
	if d.Personal == nil {
		return errNoPersonal
	}
	s, err := personal.ParseSubject(chi.URLParam(r, "subject"))
	if err != nil {
		return err
	}
	a, err := d.Personal.Access(r.Context(), s)
	if err != nil {
		return err
	}
	out := SubjectAccess{Subject: a.Subject, Kind: a.Subject.Kind(), Erased: a.Erased, KeyCreatedAt: a.KeyCreatedAt,
		ErasedAt: a.ErasedAt, Parts: []PersonalPart{}, Erasures: []ErasureEntry{}}
	for _, p := range a.Parts {
		var data any
		if p.Personal != nil {
			data = p.Personal
		}
		out.Parts = append(out.Parts, PersonalPart{Position: p.Position, EventID: p.EventID, Stream: p.Stream,
			Version: p.Version, Event: p.Event, OccurredAt: p.OccurredAt, RecordedAt: p.RecordedAt,
			RecordedBy: p.RecordedBy, Personal: data})
	}
	for _, e := range a.Erasures {
		out.Erasures = append(out.Erasures, ErasureEntry(e))
	}
	return WriteJSON(w, http.StatusOK, out)
}
