package domain

import (
	"fmt"
	"reflect"
)

// The outer bounds of any date an event may carry. Commands check their
// dates against the business window (CheckPast, CheckAhead); these bounds
// are the last guard that every read model can decode and compare every
// stored date, whatever a command forgot.
var (
	guardFirstDate = NewDate(1900, 1, 1)
	guardLastDate  = NewDate(2199, 12, 31)
)

// maxGuardText bounds any stored string (a note is the longest field).
const maxGuardText = 4 * MaxNote

// maxGuardInt bounds any stored integer: no count, year or rule of the
// domain comes near it, and every read model's integer columns hold it.
const maxGuardInt = 1_000_000

var dateType = reflect.TypeFor[Date]()

// guard refuses an event that holds a value no read model should ever
// have to carry: a date outside 1900–2199, an integer outside
// 0–1,000,000, a string that is not valid
// UTF-8, holds a control character other than a line feed, is longer than
// 4,000 bytes, or holds anything shaped like a personal identity code. It
// is Encode's last line of defence behind the command checks, which name
// the request field; an event that fails it is a programming error in a
// command, reported as *Invalid so that nothing is stored.
func guard(e Event) error {
	return guardValue(reflect.ValueOf(e), e.EventName())
}

func guardValue(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return guardValue(v.Elem(), path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := v.Int(); n < 0 || n > maxGuardInt {
			return Invalidf("out_of_range", "", "%s is outside 0–%d", path, maxGuardInt)
		}
	case reflect.String:
		s := v.String()
		if len(s) > maxGuardText {
			return Invalidf("too_long", "", "%s is longer than %d bytes", path, maxGuardText)
		}
		if err := checkChars("", s, maxGuardText, true); err != nil {
			return Invalidf("invalid_text", "", "%s must be valid UTF-8 without control characters", path)
		}
		if ContainsIdentityCode(s) {
			return Invalidf("personal_data_refused", "", "%s", PersonalDataMessage)
		}
	case reflect.Struct:
		if v.Type() == dateType {
			d := v.Interface().(Date)
			if !d.IsZero() && (d.Before(guardFirstDate) || d.After(guardLastDate)) {
				return Invalidf("date_out_of_range", "", "%s holds a date outside %s–%s", path, guardFirstDate, guardLastDate)
			}
			return nil
		}
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			if err := guardValue(v.Field(i), path+"."+t.Field(i).Name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := guardValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := guardValue(it.Key(), path); err != nil {
				return err
			}
			if err := guardValue(it.Value(), path); err != nil {
				return err
			}
		}
	}
	return nil
}
