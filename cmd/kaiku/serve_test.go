package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
	"github.com/kaiku/kaiku/domain/personal"
	"github.com/kaiku/kaiku/projections/stats"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// kaikuBinary builds cmd/kaiku once per test run, for tests that need a
// real process (signals).
func kaikuBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kaiku-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kaiku")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type server struct {
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
	done chan error
}

// startServe runs `kaiku serve` on dbURL and waits until it is ready and
// its projections have caught up with the log.
func startServe(t *testing.T, dbURL string) *server {
	t.Helper()
	addr := freeAddr(t)
	s := &server{base: "http://" + addr, log: &bytes.Buffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(kaikuBinary(t), "serve", "--addr", addr)
	// The test generates the master key that seals the personal data.
	_, master := personal.NewMasterKey()
	masterKeys.Store(dbURL, master)
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "KAIKU_MASTER_KEY="+master)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("kaiku serve log:\n%s", s.log)
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kaiku serve not ready after 90s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *server) do(t *testing.T, key, method, path string, body any) (int, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// caughtUp waits until every projection has applied the whole log.
func (s *server) caughtUp(t *testing.T, key string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body, err := s.do(t, key, "GET", "/v1/projections", nil)
		var st []struct {
			Name      string `json:"name"`
			State     string `json:"state"`
			Position  int64  `json:"position"`
			Head      int64  `json:"head"`
			LagEvents int64  `json:"lagEvents"`
		}
		if err == nil && code == 200 && json.Unmarshal(body, &st) == nil && len(st) > 0 {
			done := true
			for _, p := range st {
				done = done && p.State == "running" && p.Position == p.Head && p.LagEvents == 0
			}
			if done {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("projections did not catch up: %d %s %v", code, body, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func token(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbURL}
	if m, ok := masterKeys.Load(dbURL); ok {
		env["KAIKU_MASTER_KEY"] = m.(string) // serve sealed the contacts the check reads
	}
	code, out, errOut := runCLI(t, env, append([]string{"tokens", "create"}, args...)...)
	if code != 0 {
		t.Fatalf("tokens create %v: %s", args, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// expectedNational computes DESIGN.md's national table straight from the
// generated commands, independently of the statistics projection.
func expectedNational(t *testing.T, cfg dataset.Config) map[int]stats.NationalTable {
	t.Helper()
	out := map[int]stats.NationalTable{}
	get := func(y int) stats.NationalTable {
		tb, ok := out[y]
		if !ok {
			tb = stats.NationalTable{Year: y, AdultUsesByCategory: map[string]int64{}, ChildTicketsByCategory: map[string]int64{}}
		}
		return tb
	}
	venueCat := map[string]string{}
	root := map[card.ID]card.ID{}
	type useKey struct {
		c card.ID
		u card.UseID
	}
	uses := map[useKey]command.RecordUse{}
	var order []useKey
	munis := map[string]domain.Date{}
	if _, err := dataset.Generate(cfg, func(c dataset.Command) error {
		switch x := c.Cmd.(type) {
		case command.RegisterLocality:
			for _, m := range x.Municipalities {
				munis[m] = x.JoinedOn
			}
		case command.JoinPartner:
			venueCat[string(x.ID)] = string(x.Category)
		case command.IssueCard:
			root[x.ID] = x.ID
			tb := get(x.IssuedOn.Year())
			tb.CardsRegistered++
			out[x.IssuedOn.Year()] = tb
		case command.ReplaceCard:
			root[x.NewCardID] = root[x.Card]
		case command.RecordUse:
			k := useKey{x.Card, x.ID}
			uses[k] = x
			order = append(order, k)
		case command.CancelUse:
			delete(uses, useKey{x.Card, x.Use})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	used := map[int]map[card.ID]bool{}
	for _, k := range order {
		u, ok := uses[k]
		if !ok {
			continue
		}
		y := u.UsedOn.Year()
		tb := get(y)
		cat := u.Category
		if cat == "" {
			cat = venueCat[string(u.Venue)]
		}
		tb.AdultUses++
		tb.ChildTickets += int64(u.ChildTickets)
		tb.AdultUsesByCategory[cat]++
		tb.ChildTicketsByCategory[cat] += int64(u.ChildTickets)
		if used[y] == nil {
			used[y] = map[card.ID]bool{}
		}
		used[y][root[u.Card]] = true
		out[y] = tb
	}
	for y, tb := range out {
		tb.CardsUsed = int64(len(used[y]))
		tb.TotalUses = tb.AdultUses + tb.ChildTickets
		for _, joined := range munis {
			if joined.Year() <= y {
				tb.Municipalities++
			}
		}
		out[y] = tb
	}
	return out
}

func TestServeAnswersTheNationalTableTheSeededHistoryImplies(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	cfg := dataset.Config{Scale: 0.003, Seed: 11, Until: domain.MustDate("2025-12-31")}
	if code, _, errOut := runCLI(t, map[string]string{"DATABASE_URL": dbURL}, "seed", "--scale", "0.003", "--seed", "11", "--until", "2025-12-31"); code != 0 {
		t.Fatalf("seed: %s", errOut)
	}
	s := startServe(t, dbURL)
	key := token(t, dbURL, "--role", "national")
	s.caughtUp(t, key)
	want := expectedNational(t, cfg)
	for _, year := range []int{2016, 2019, 2022, 2024, 2025} {
		code, body, err := s.do(t, key, "GET", fmt.Sprintf("/v1/statistics/national/%d", year), nil)
		if err != nil || code != 200 {
			t.Fatalf("national %d: %d %s %v", year, code, body, err)
		}
		var got stats.NationalTable
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		w := want[year]
		w.Year = year
		for _, c := range []string{"culture", "education", "science", "sport"} {
			if _, ok := w.AdultUsesByCategory[c]; !ok {
				w.AdultUsesByCategory[c] = 0
			}
			if _, ok := w.ChildTicketsByCategory[c]; !ok {
				w.ChildTicketsByCategory[c] = 0
			}
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("national table %d:\n got  %s\n want %s", year, gb, wb)
		}
	}
}

// masterKeys holds the master key startServe generated for a database, so
// that later commands on it (tokens create) can read what serve sealed.
var masterKeys sync.Map

func TestSIGTERMUnderLoadKeepsEveryAcceptedUseAndNoRefusedOne(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	if code, _, errOut := runCLI(t, map[string]string{"DATABASE_URL": dbURL}, "seed", "--scale", "0.002", "--seed", "2"); code != 0 {
		t.Fatalf("seed: %s", errOut)
	}
	s := startServe(t, dbURL)
	issuer := token(t, dbURL, "--role", "issuer", "--partner", "espoo-iss-1")
	venue := token(t, dbURL, "--role", "venue", "--partner", "espoo-ven-1")
	today := time.Now().UTC().Format("2006-01-02")
	const cards = 16
	for i := 0; i < cards; i++ {
		code, body, err := s.do(t, issuer, "POST", "/v1/cards", map[string]any{"id": fmt.Sprintf("K-T%06d", i), "issuedOn": today,
			"kind": "personal", "holder": map[string]any{"birthYear": 1980, "postalCode": "02100", "minorChildren": 0}})
		if err != nil || code != 201 {
			t.Fatalf("issue card: %d %s %v", code, body, err)
		}
	}
	type outcome struct {
		card, use string
		code      int
		body      []byte
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c, u := fmt.Sprintf("K-T%06d", (w*31+n)%cards), fmt.Sprintf("w%dn%d", w, n)
				code, body, err := s.do(t, venue, "POST", "/v1/cards/"+c+"/uses", map[string]any{"id": u, "usedOn": today, "childTickets": 0})
				if err != nil {
					code = 0
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{c, u, code, body})
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("kaiku serve exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("kaiku serve did not stop within 60s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	if !strings.Contains(s.log.String(), "kaiku stopped") {
		t.Errorf("no clean stop in the log")
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	accepted, refused := 0, 0
	for _, o := range outcomes {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream = $1 AND type = 'card.use_recorded' AND data->>'use' = $2`,
			"card-"+o.card, o.use).Scan(&n); err != nil {
			t.Fatal(err)
		}
		switch {
		case o.code == 201:
			accepted++
			var res struct {
				EventIDs []string `json:"eventIds"`
			}
			if err := json.Unmarshal(o.body, &res); err != nil || len(res.EventIDs) != 1 {
				t.Fatalf("a 201 without its event id: %s", o.body)
			}
			var m int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_id = $1`, res.EventIDs[0]).Scan(&m); err != nil {
				t.Fatal(err)
			}
			if n != 1 || m != 1 {
				t.Errorf("use %s on %s got 201 but the log holds it %d times (event id found %d times)", o.use, o.card, n, m)
			}
		default:
			refused++
			if n != 0 {
				t.Errorf("use %s on %s was not accepted (status %d) but the log holds it", o.use, o.card, o.code)
			}
		}
	}
	if accepted == 0 {
		t.Fatalf("no use was accepted before SIGTERM (%d refused): the test proved nothing", refused)
	}
	t.Logf("%d uses accepted, %d refused or cut off by the shutdown", accepted, refused)
}
