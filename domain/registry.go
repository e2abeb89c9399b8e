package domain

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// registry maps stored event names to decoders. Aggregate packages register
// their events in init through Register.
var registry = struct {
	sync.RWMutex
	decoders map[string]func(Record) (Event, error)
}{decoders: map[string]func(Record) (Event, error){}}

// Register makes event type T known under its EventName so that Decode can
// rebuild it from a Record. It panics when two types claim one name, since
// that is a programming error that would corrupt replays.
func Register[T Event]() {
	var zero T
	name := zero.EventName()
	if _, _, err := SplitEventName(name); err != nil {
		panic(err)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.decoders[name]; dup {
		panic(fmt.Sprintf("domain: event %q registered twice", name))
	}
	registry.decoders[name] = func(r Record) (Event, error) {
		var v T
		if err := unmarshal(r.Data, &v); err != nil {
			return nil, fmt.Errorf("decode %s at %s/%d: %w", name, r.Stream, r.Version, err)
		}
		if pc, ok := any(&v).(PersonalCarrier); ok {
			p := pc.PersonalData()
			if len(r.Personal) > 0 && string(r.Personal) != "null" {
				if err := json.Unmarshal(r.Personal, p); err != nil {
					return nil, fmt.Errorf("decode personal data of %s at %s/%d: %w", name, r.Stream, r.Version, err)
				}
			} else if r.Subject != "" {
				p.Erased = true // a subject without its personal part: erased
			}
			p.Subject = r.Subject
		}
		return v, nil
	}
}

// unmarshal decodes data into v. An event with its own UnmarshalJSON (a
// hand-written decoder of a hot event, which must accept and reject
// exactly what encoding/json does) is called directly: through
// json.Unmarshal the input would be scanned twice more first.
func unmarshal(data []byte, v any) error {
	if u, ok := v.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(data)
	}
	return json.Unmarshal(data, v)
}

// RegisterUpcaster decodes an old stored name (e.g. "card.issued.v1") into
// the current event type by a function, for schema changes.
func RegisterUpcaster(name string, up func(Record) (Event, error)) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.decoders[name]; dup {
		panic(fmt.Sprintf("domain: event %q registered twice", name))
	}
	registry.decoders[name] = up
}

// RegisteredNames lists every stored event name the registry decodes.
func RegisteredNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.decoders))
	for n := range registry.decoders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownEvent is returned by Decode for a name no package registered.
var ErrUnknownEvent = fmt.Errorf("unknown event type")

// Decode rebuilds the typed event of r. It returns ErrUnknownEvent
// (wrapped) when the type is not registered.
func Decode(r Record) (Event, error) {
	registry.RLock()
	dec, ok := registry.decoders[r.Name()]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q at %s/%d", ErrUnknownEvent, r.Name(), r.Stream, r.Version)
	}
	return dec(r)
}

// Encode turns an event and its metadata into a Record ready to append,
// with a fresh event id. Personal data of a PersonalCarrier goes to
// Record.Personal; everything else to Record.Data. An event holding a value
// no read model should carry (see guard) is refused with *Invalid.
func Encode(e Event, md Metadata) (Record, error) {
	typ, ver, err := SplitEventName(e.EventName())
	if err != nil {
		return Record{}, err
	}
	if err := guard(e); err != nil {
		return Record{}, err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return Record{}, fmt.Errorf("encode %s: %w", e.EventName(), err)
	}
	r := Record{
		ID:            NewEventID(),
		Type:          typ,
		SchemaVersion: ver,
		OccurredAt:    md.OccurredAt,
		Principal:     md.Principal,
		CorrelationID: md.CorrelationID,
		CausationID:   md.CausationID,
		Data:          data,
	}
	if r.OccurredAt.IsZero() {
		r.OccurredAt = time.Now().UTC()
	}
	if pc, ok := pointerTo(e).(PersonalCarrier); ok {
		p := pc.PersonalData()
		if p != nil && !p.IsZero() {
			if r.Personal, err = json.Marshal(p); err != nil {
				return Record{}, fmt.Errorf("encode personal data of %s: %w", e.EventName(), err)
			}
			r.Subject = p.Subject
		}
	}
	return r, nil
}
