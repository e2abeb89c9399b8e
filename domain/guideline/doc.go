// Package guideline holds the national Kaikukortti guideline as one
// event-sourced aggregate (stream "guideline-national"): its versions, each
// adopted on a date and effective from a later one, and the Rules each
// version carries. The rules are data, not code: the card aggregate checks
// holder age, validity, children's tickets and categories against the
// Rules in force on a command's business date, and statistics can be
// restated under any version's Rules.
package guideline
