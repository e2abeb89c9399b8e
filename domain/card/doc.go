// Package card models a Kaikukortti card: issued by an approved issuer
// office that has committed to the national guideline, valid for the
// guideline's validity period, renewed at the issuing unit, replaced when
// lost, corrected (the register overrides the card) and cancelled; and the
// uses venues record on it, which are cancelled by correcting events,
// never deleted.
//
// The register keeps as little as possible about a cardholder: birth
// year, postal code, number of minor children, and (voluntarily) life
// situation and gender. Holder has no field that could carry a name,
// identity code, birth date or address.
//
// Every rule is checked as of the command's business date, so history
// entered late (from paper forms or an older register) lands right: a use
// dated before a later cancellation is accepted; one dated on or after it
// is refused.
package card
