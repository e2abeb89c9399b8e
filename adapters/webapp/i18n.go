package webapp

import (
	"fmt"
	"net/http"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The app's languages: Finnish first (the default), then English.
var languages = []language.Tag{language.Finnish, language.English}

var matcher = language.NewMatcher(languages)

// messages is the message catalog built from the per-language maps
// (messages_fi.go, messages_en.go), which must hold the same keys (a test
// fails otherwise).
var messages = func() catalog.Catalog {
	b := catalog.NewBuilder(catalog.Fallback(language.Finnish))
	for tag, m := range map[language.Tag]map[string]string{language.Finnish: fi, language.English: en} {
		for k, v := range m {
			if err := b.SetString(tag, k, v); err != nil {
				panic(fmt.Errorf("webapp: catalog %s %s: %w", tag, k, err))
			}
		}
	}
	return b
}()

// langCookie keeps the language chosen with the switch.
const langCookie = "kaiku_lang"

// locale is one request's language: its tag, its printer and its date
// format.
type locale struct {
	Tag     language.Tag
	printer *message.Printer
}

// localeOf picks the request's language: the switch's cookie, else the
// best match of Accept-Language, else Finnish.
func localeOf(r *http.Request) locale {
	var prefs []string
	if c, err := r.Cookie(langCookie); err == nil {
		prefs = append(prefs, c.Value)
	}
	prefs = append(prefs, r.Header.Get("Accept-Language"))
	tag, _ := language.MatchStrings(matcher, prefs...)
	base, _ := tag.Base()
	for _, l := range languages {
		if b, _ := l.Base(); b == base {
			tag = l
		}
	}
	return newLocale(tag)
}

func newLocale(tag language.Tag) locale {
	return locale{Tag: tag, printer: message.NewPrinter(tag, message.Catalog(messages))}
}

// Lang is the page's lang attribute ("fi", "en").
func (l locale) Lang() string {
	b, _ := l.Tag.Base()
	return b.String()
}

// T translates key with args, formatting numbers in the locale's way.
func (l locale) T(key string, args ...any) string { return l.printer.Sprintf(key, args...) }

// Has reports whether the catalog has key.
func (l locale) Has(key string) bool { _, ok := en[key]; return ok }

// Date formats d in the locale's way: 3.12.2026 in Finnish, 3 December
// 2026 in English.
func (l locale) Date(d time.Time) string {
	if l.Lang() == "fi" {
		return d.Format("2.1.2006")
	}
	return d.Format("2 January 2006")
}
