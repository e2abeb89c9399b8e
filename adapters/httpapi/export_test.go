package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"

	"github.com/kaiku/kaiku/domain/command"
)

// DecodeForTest is Decode for the external test package.
func DecodeForTest(r *http.Request, dst any) error { return Decode(r, dst) }

// DecodeIssueCard and DecodeRecordUse run a body through the door of POST
// /v1/cards and POST /v1/cards/{id}/uses: the strict decoder and the
// request type's mapping to its command.
func DecodeIssueCard(body []byte) (command.IssueCard, error) {
	var req issueCardRequest
	err := Decode(jsonRequest(body), &req)
	return req.command(), err
}

func DecodeRecordUse(body []byte) (command.RecordUse, error) {
	var req recordUseRequest
	err := Decode(jsonRequest(body), &req)
	return req.command(), err
}

func jsonRequest(body []byte) *http.Request {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
