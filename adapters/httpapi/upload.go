package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/partner"
)

// MaxUploadRows bounds one offline upload; MaxUploadBytes its body.
const (
	MaxUploadRows  = 10_000
	MaxUploadBytes = 2 << 20
)

// uploadColumns are the CSV columns of an offline upload, by the JSON
// names of recordUseRequest plus the card: the same door as a JSON body.
var uploadColumns = map[string]bool{"card": true, "usedOn": true, "category": true, "kind": true,
	"childTickets": true, "assistant": true, "id": true}

// UploadRow is one row's answer: accepted (with the event's position, or
// 0 when the use was already recorded by an earlier try) or refused (with
// the problem's code, field and message).
type UploadRow struct {
	Row      int             `json:"row"` // the line in the file, the header being line 1
	Status   string          `json:"status" enum:"accepted,already_recorded,refused"`
	UseID    string          `json:"useId,omitempty"`
	Position domain.Position `json:"position,omitempty"`
	Code     string          `json:"code,omitempty"`
	Field    string          `json:"field,omitempty"`
	Message  string          `json:"message,omitempty"`
}

// UploadResult is the answer to an offline upload.
type UploadResult struct {
	Accepted        int         `json:"accepted"`
	AlreadyRecorded int         `json:"alreadyRecorded"`
	Refused         int         `json:"refused"`
	Rows            []UploadRow `json:"rows"`
}

// uploadRoute is POST /v1/uses: a venue's uses written down while it was
// offline, as CSV.
func uploadRoute(d Deps) Route {
	return Route{Method: http.MethodPost, Pattern: "/v1/uses", Roles: []domain.Role{domain.RoleVenue}, Status: http.StatusOK,
		MaxBody: MaxUploadBytes, RequestContentType: "text/csv",
		Summary: "Upload uses recorded while offline, as CSV (UTF-8, ';' or ',' separated, a header row naming the columns " +
			"card, usedOn and optionally category, kind, childTickets, assistant, id). Each row is judged by the rules at its own date; " +
			"the answer lists each row as accepted or refused. Send an Idempotency-Key: rows without an id get one derived from it and the row number, " +
			"so a retried upload records nothing twice.",
		Response: UploadResult{}, Handler: d.upload}
}

func (d Deps) upload(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/csv" {
		return errUnsupportedMediaType
	}
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		return domain.Invalidf("missing_idempotency_key", IdempotencyHeader,
			"an upload needs an Idempotency-Key, so that a retry after a lost connection records nothing twice")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	p, _ := PrincipalFrom(r.Context())
	rows, err := parseUpload(body)
	if err != nil {
		return err
	}
	// A derived use id names the venue, the upload and the row, never the
	// row's content: two real uses alike are both kept.
	// Letters only ('a'+nibble) and '.' before the row number, so that no
	// derived id can take the shape of an identity code.
	sum := sha256.Sum256([]byte(p.Partner + "\x00" + key))
	letters := make([]byte, 16)
	for i, b := range sum[:8] {
		letters[2*i], letters[2*i+1] = 'a'+b>>4, 'a'+b&0x0f
	}
	prefix := "up-" + string(letters) + "."
	out := UploadResult{Rows: make([]UploadRow, 0, len(rows))}
	md := MetadataFrom(r)
	for _, row := range rows {
		ans := UploadRow{Row: row.line}
		if row.err == nil {
			c := row.req.command()
			c.Card, c.Venue = card.ID(row.card), partner.ID(p.Partner)
			if c.ID == "" {
				c.ID = card.UseID(prefix + strconv.Itoa(row.line))
			}
			ans.UseID = string(c.ID)
			var res command.Result
			res, row.err = d.Commands.RecordUse(r.Context(), md, c)
			ans.Position = res.Position()
		}
		switch {
		case row.err == nil:
			ans.Status = "accepted"
			out.Accepted++
		case errors.Is(row.err, card.ErrDuplicateUse):
			ans.Status = "already_recorded"
			out.AlreadyRecorded++
		default:
			if r.Context().Err() != nil {
				return r.Context().Err()
			}
			prob := ProblemFor(row.err)
			if prob.Status >= 500 || prob.Status == http.StatusConflict {
				return row.err // the rest of the upload waits for a retry
			}
			ans.Status, ans.Code, ans.Field, ans.Message = "refused", prob.Code, prob.Field, prob.Detail
			out.Refused++
		}
		out.Rows = append(out.Rows, ans)
	}
	return WriteJSON(w, http.StatusOK, out)
}

type uploadRow struct {
	line int
	card string
	req  recordUseRequest
	err  error // the row's refusal, judged before or by the domain
}

// parseUpload reads a CSV upload strictly: UTF-8 (a BOM is allowed), one
// header row naming known columns once each (card and usedOn required),
// ';' or ',' as the separator, every row as wide as the header, at most
// MaxUploadRows rows. A malformed file is one *domain.Invalid; a bad value
// refuses its row only.
func parseUpload(body []byte) ([]uploadRow, error) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	if !utf8.Valid(body) {
		return nil, domain.Invalidf("malformed_csv", "", "the upload must be UTF-8 text")
	}
	head, _, _ := bytes.Cut(body, []byte("\n"))
	sep := ';'
	if bytes.Count(head, []byte(",")) > bytes.Count(head, []byte(";")) {
		sep = ','
	}
	rd := csv.NewReader(bytes.NewReader(body))
	rd.Comma = sep
	rd.ReuseRecord = false
	header, err := rd.Read()
	if err != nil {
		return nil, domain.Invalidf("malformed_csv", "", "the upload needs a header row: card;usedOn;category;kind;childTickets;assistant;id")
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case refusedKeys[normaliseKey(h)]:
			return nil, domain.Invalidf("personal_data_refused", h, "%s", domain.PersonalDataMessage)
		case !uploadColumns[h]:
			return nil, domain.Invalidf("unknown_column", h, "columns are card, usedOn, category, kind, childTickets, assistant and id (case-sensitive)")
		case cols[h] != 0:
			return nil, domain.Invalidf("duplicate_column", h, "a column is named twice")
		}
		cols[h] = i + 1
	}
	for _, must := range []string{"card", "usedOn"} {
		if cols[must] == 0 {
			return nil, domain.Invalidf("missing_column", must, "is required")
		}
	}
	var rows []uploadRow
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, domain.Invalidf("malformed_csv", "", "line %d: %v", pe.Line, pe.Err)
			}
			return nil, domain.Invalidf("malformed_csv", "", "%v", err)
		}
		if len(rows) == MaxUploadRows {
			return nil, domain.Invalidf("too_many_rows", "", "an upload holds at most %d rows; split it", MaxUploadRows)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rows = append(rows, parseUploadRow(line, rec, cols))
	}
	if len(rows) == 0 {
		return nil, domain.Invalidf("malformed_csv", "", "the upload has a header but no rows")
	}
	return rows, nil
}

func parseUploadRow(line int, rec []string, cols map[string]int) uploadRow {
	row := uploadRow{line: line}
	get := func(name string) string {
		if i := cols[name]; i > 0 && i <= len(rec) {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	row.card = get("card")
	if row.card == "" {
		row.err = domain.Invalidf("missing_field", "card", "is required")
		return row
	}
	if _, err := card.ParseID(row.card); err != nil {
		row.err = err
		return row
	}
	on, err := domain.ParseDate(get("usedOn"))
	if err != nil {
		row.err = domain.Invalidf("invalid_value", "usedOn", `must be a real calendar date written "YYYY-MM-DD"`)
		return row
	}
	row.req = recordUseRequest{ID: get("id"), UsedOn: on, Category: get("category"), Kind: card.UseKind(get("kind"))}
	if s := get("childTickets"); s != "" {
		if row.req.ChildTickets, err = strconv.Atoi(s); err != nil {
			row.err = domain.Invalidf("wrong_type", "childTickets", "must be a whole number")
			return row
		}
	}
	switch strings.ToLower(get("assistant")) {
	case "", "false", "0", "no", "ei":
	case "true", "1", "yes", "kyllä":
		row.req.Assistant = true
	default:
		row.err = domain.Invalidf("wrong_type", "assistant", "must be true or false")
	}
	return row
}
