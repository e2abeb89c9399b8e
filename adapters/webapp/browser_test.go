package webapp_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaiku/kaiku/domain"
)

// The browser tests drive Debian's chromium through chromedp: one browser
// for the package, a fresh browser context (its own cookies) per tab. They
// run one after another: on two shared cores, tabs in parallel only
// fight over them.
// Without chromium they skip, naming the package, except under CI=true,
// where a missing browser fails them.

//go:embed testdata/axe/axe-4.11.1.min.js
var axeSource string

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// startBrowser starts the shared headless chromium once.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must install the Debian package chromium (see .ci/run)")
		}
		t.Skip("chromium is not installed: apt-get install -y chromium (Debian package chromium) to run the browser tests")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "kaiku-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(dir), chromedp.WindowSize(1024, 900))
		bctx, cancelBrowser := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.cancel = func() { cancelBrowser(); cancelAlloc(); _ = os.RemoveAll(dir) }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return browser.ctx
}

// tab is one test's window on the app, in a browser context of its own.
type tab struct {
	t   *testing.T
	ctx context.Context
	e   *env
}

func newTab(t *testing.T, e *env) *tab {
	t.Helper()
	bctx := startBrowser(t)
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	base := ctx
	// A generous bound: on two cores shared with other work a step can
	// wait long for the CPU; a hung browser still ends the test.
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	tb := &tab{t: t, ctx: ctx, e: e}
	t.Cleanup(func() {
		if t.Failed() {
			tb.ctx = base
			tb.screenshot()
		}
		cancelTimeout()
		cancel()
	})
	return tb
}

// screenshot saves the page as it is, for a failed test, under
// $KAIKU_TEST_ARTIFACTS (the temporary directory when unset).
func (b *tab) screenshot() {
	dir := os.Getenv("KAIKU_TEST_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, "kaiku-webapp-"+regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(b.t.Name(), "_")+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failure: %s", name)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()

	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// open loads path and waits for its main heading.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.e.url+path), chromedp.WaitVisible("h1"))
}

// lang switches the language with the page's own switch.
func (b *tab) lang(l string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.e.url+"/lang?to="+l+"&back=/signin"), chromedp.WaitVisible("h1"))
	if got := b.eval(`document.documentElement.lang`); got != l {
		b.t.Fatalf("lang %q after the switch to %s", got, l)
	}
}

// focused is the id of the element with the keyboard focus.
func (b *tab) focused() string {
	return b.eval(`document.activeElement ? document.activeElement.id : ""`)
}

// typeKeys types into whatever has the focus, as a keyboard or a
// barcode scanner does ("\r" is Enter, "\t" Tab).
func (b *tab) typeKeys(keys string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys))
}

// waitText waits until sel's text contains want. It asks again and again
// rather than waiting on animation frames, which a headless tab may not
// get, and rides over a navigation in between.
func (b *tab) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok && b.eval(`document.readyState`) == "complete" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s never said %q (it says %q): %v", sel, want, b.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel)), err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
}

// axe runs axe-core's WCAG 2.1 A and AA rules on the page as it is and
// fails the test on any violation.
func (b *tab) axe(what string) {
	b.t.Helper()

	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`if (!window.axe) { (0, eval)(`+jsString(axeSource)+`) }; 0`)); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](
		`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
			.then(r => ({violations: r.violations}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", what, err)
	}
	var res axeResult
	if err := json.Unmarshal(raw, &res); err != nil {
		b.t.Fatalf("axe result: %v", err)
	}
	for _, v := range res.Violations {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, fmt.Sprint(n.Target...))
		}
		b.t.Errorf("axe on %s: %s (%s): %s at %s", what, v.ID, v.Impact, v.Help, strings.Join(nodes, ", "))
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn signs in with role's key, by keyboard: the key field has the
// focus, Enter sends the form.
func (b *tab) signIn(role domain.Role) {
	b.t.Helper()
	b.open("/signin")
	if f := b.focused(); f != "f-key" {
		b.t.Fatalf("the focus is on %q, not the key field", f)
	}
	b.typeKeys(b.e.keys[role] + "\r")
	b.do(chromedp.WaitVisible(".signout button"))
}

// signOut signs out by keyboard and checks the session is gone.
func (b *tab) signOut(notice string) {
	b.t.Helper()
	b.do(chromedp.Focus(".signout button"))
	b.typeKeys("\r")
	b.waitText("main", notice)
	b.open("/")
	if loc := b.eval(`location.pathname`); loc != "/signin" {
		b.t.Fatalf("after sign-out / is %s", loc)
	}
}

func TestBrowserVenueRecordsAUseWithTheKeyboard(t *testing.T) {
	e := newEnv(t, false)
	b := newTab(t, e)
	b.lang("fi")
	b.axe("the sign-in page (fi)")
	b.typeKeys("kaiku_wrong\r")
	b.waitText("[role=alert]", "Avainta ei hyväksytty")
	if got := b.eval(`document.getElementById("f-key").getAttribute("aria-describedby")`); got != "h-key e-key" {
		t.Fatalf("the key field is described by %q", got)
	}
	b.axe("the sign-in page with its error (fi)")

	b.signIn(domain.RoleVenue)
	if loc := b.eval(`location.pathname`); loc != "/venue" {
		t.Fatalf("a venue lands on %s", loc)
	}
	if f := b.focused(); f != "f-card" {
		t.Fatalf("the focus is on %q, not the card field", f)
	}
	// A scanner types the number and Enter.
	b.typeKeys("K-0000001\r")
	b.waitText("[role=status]", "Kortin K-0000001 käyttö kirjattu 3.6.2024.")
	if n := e.uses(t, "K-0000001"); n != 1 {
		t.Fatalf("%d uses recorded", n)
	}
	if f := b.focused(); f != "f-card" {
		t.Fatalf("after a use the focus is on %q, not ready for the next card", f)
	}
	b.axe("the venue page after a use (fi)")

	// Three children's tickets for a card with two children: refused.
	b.typeKeys("K-0000001")
	b.do(chromedp.Focus("#f-childTickets"))
	b.typeKeys("\b\b3\r")
	b.waitText("[role=alert]", "lasten lippuja enemmän kuin kortti sallii")
	if got := b.eval(`document.getElementById("f-card").getAttribute("aria-describedby")`); got != "h-card e-card" {
		t.Fatalf("the card field is described by %q", got)
	}
	if n := e.uses(t, "K-0000001"); n != 1 {
		t.Fatalf("a refused use was recorded: %d uses", n)
	}
	b.axe("the venue page with a refusal (fi)")

	b.open("/issuer")
	b.waitText("h1", "Ei sallittu")
	b.axe("the forbidden page (fi)")
	b.open("/venue")
	b.signOut("Olet kirjautunut ulos.")
}

func TestBrowserIssuerIssuesAndCancelsWithTheKeyboard(t *testing.T) {
	e := newEnv(t, false)
	b := newTab(t, e)
	b.lang("en")
	b.signIn(domain.RoleIssuer)
	if loc := b.eval(`location.pathname`); loc != "/issuer" {
		t.Fatalf("an issuing office lands on %s", loc)
	}
	b.axe("the issuer page (en)")
	if n := b.eval(`String(document.querySelectorAll("input[name*=name i], input[name*=address i]").length)`); n != "0" {
		t.Fatalf("the issuing form has %s name or address fields", n)
	}
	issue := func() {
		b.do(chromedp.Focus("#f-id"))
		// Card number, Tab past the kind (personal), birth year, postal
		// code, minor children, Enter.
		b.typeKeys("K-0000002\t\t1980\t02100\t1\r")
	}
	issue()
	b.waitText("[role=status]", "Card K-0000002 issued.")
	if _, err := e.commands.LoadCard(t.Context(), "K-0000002"); err != nil {
		t.Fatalf("the card is not in the register: %v", err)
	}
	issue()
	b.waitText("[role=alert]", "a card with this number is already registered")
	if got := b.eval(`document.getElementById("f-id").getAttribute("aria-invalid")`); got != "true" {
		t.Fatalf("the card number field is not marked invalid: %q", got)
	}
	b.axe("the issuer page with an error (en)")

	b.do(chromedp.Focus("#f-card"))
	b.typeKeys("K-0000002\r")
	b.waitText("[role=status]", "Card K-0000002 cancelled.")
	cd, err := e.commands.LoadCard(t.Context(), "K-0000002")
	if err != nil || cd.CancelledOn().IsZero() {
		t.Fatalf("the card is not cancelled: %v", err)
	}
	b.open("/venue")
	b.waitText("h1", "Not allowed")
	b.open("/issuer")
	b.signOut("You have signed out.")
}

// axe-core finds nothing on any page in either language: the flows above
// check the venue's pages in Finnish and the issuer's in English, with
// their error states; this checks the rest.
func TestBrowserEveryPageIsAccessibleInBothLanguages(t *testing.T) {
	e := newEnv(t, false)
	for _, lang := range []string{"fi", "en"} {
		b := newTab(t, e)
		b.lang(lang)
		b.signIn(domain.RoleCoordinator)
		b.axe("the page of a role without a job (" + lang + ")")
		b.open("/nowhere")
		b.axe("the not-found page (" + lang + ")")
	}
	b := newTab(t, e)
	b.lang("en")
	b.axe("the sign-in page (en)")
	b.signIn(domain.RoleVenue)
	b.axe("the venue page (en)")
	b = newTab(t, e)
	b.lang("fi")
	b.signIn(domain.RoleIssuer)
	b.axe("the issuer page (fi)")
}
