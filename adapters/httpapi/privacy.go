package httpapi

import "strings"

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

func normaliseKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return r
	}, strings.ToLower(k))
}
