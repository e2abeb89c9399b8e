package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

// refusedKeys are JSON keys that would carry a cardholder's name, personal
// identity code, birth date or address, normalised (lower case, no '_', '-'
// or spaces). birthYear and postalCode are allowed: the register keeps them.
var refusedKeys = map[string]bool{
	"name": true, "firstname": true, "lastname": true, "fullname": true, "givenname": true,
	"familyname": true, "surname": true, "forename": true, "middlename": true, "nickname": true,
	"nimi": true, "etunimi": true, "sukunimi": true,
	"ssn": true, "hetu": true, "personalidentitycode": true, "personalidentitynumber": true,
	"personalid": true, "personalcode": true, "identitycode": true, "nationalid": true,
	"henkilotunnus": true, "henkilötunnus": true, "socialsecuritynumber": true,
	"dateofbirth": true, "birthdate": true, "birthday": true, "dob": true,
	"syntymaaika": true, "syntymäaika": true,
	"address": true, "streetaddress": true, "homeaddress": true, "postaladdress": true,
	"street": true, "osoite": true, "katuosoite": true, "lahiosoite": true, "lähiosoite": true,
}

// hetuPattern matches a Finnish personal identity code (henkilötunnus)
// anywhere in a string: DDMMYY, a century sign, a three-digit individual
// number and a check character. The check character is not verified on
// purpose: a mistyped code is personal data all the same.
var hetuPattern = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y](?:$|[^0-9A-Za-z])`)

// personalDataMessage never repeats what was sent.
const personalDataMessage = "cardholders' names, personal identity codes, birth dates and addresses are never accepted; " +
	"a card records only birth year, postal code, number of minor children and, if given, life situation and gender"

// RefusePersonalData refuses, with 400 personal_data_refused, any request
// whose JSON body carries a cardholder's personal data: a key such as name,
// firstName, ssn, hetu, dateOfBirth or address at any depth, or a string
// value that looks like a personal identity code. It runs before anything
// that stores or hashes the body, so a refused body is never kept, and the
// answer never echoes the value. Contact persons and coordinators do have
// names, so the Server installs it only on card routes.
//
//	r.With(httpapi.RefusePersonalData).Post("/v1/cards", issue)
func RefusePersonalData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if err := personalData(body); err != nil {
			WriteError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// personalData returns a *domain.Invalid naming where body carries
// cardholders' personal data, or nil.
func personalData(body []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		// Not JSON: Decode will refuse it, but never let a code through
		// on the way to that answer.
		if hetuPattern.Match(body) {
			return domain.Invalidf("personal_data_refused", "", "%s", personalDataMessage)
		}
		return nil
	}
	return walkPersonal(v, "")
}

func walkPersonal(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := joinPath(path, k)
			if refusedKeys[normaliseKey(k)] {
				return domain.Invalidf("personal_data_refused", p, "%s", personalDataMessage)
			}
			if err := walkPersonal(x, p); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := walkPersonal(x, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case string:
		if hetuPattern.MatchString(v) {
			return domain.Invalidf("personal_data_refused", path, "%s", personalDataMessage)
		}
	}
	return nil
}

func normaliseKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return r
	}, strings.ToLower(k))
}
