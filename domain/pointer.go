package domain

import "reflect"

// pointerTo returns a pointer to a copy of e, so that methods declared on
// the pointer (PersonalData) can be reached from an event held by value.
func pointerTo(e Event) any {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer {
		return e
	}
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return p.Interface()
}
