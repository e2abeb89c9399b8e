package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// serverRSS reports the server's peak resident memory. With
// Config.ServeBinary it starts `kaiku serve` on the benchmark's database,
// loads it with 8 clients (record-use, the national table, a history
// page) and reads VmHWM from /proc/<pid>/status; without, it reports the
// bench process's own peak during the in-process HTTP phase.
func (r *run) serverRSS(ctx context.Context) error {
	f := Figure{Name: "server peak RSS", Unit: "MB", Goal: "< 200 MB at --scale 10"}
	if r.cfg.ServeBinary == "" {
		f.Value = r.inProcRSS
		f.Note = "VmHWM of the bench process serving in process, incl. 8 load clients; peak reset before the HTTP phase"
		if !r.resetPeak {
			f.Note = "VmHWM of the whole bench process (clear_refs unavailable: includes the generator's peak)"
		}
	} else {
		mb, n, err := r.serve(ctx)
		if err != nil {
			return err
		}
		f.Value = mb
		f.Note = fmt.Sprintf("VmHWM of a `kaiku serve` subprocess after %d requests from 8 clients", n)
	}
	if r.cfg.Scale >= 10 {
		f.Met = ptr(f.Value < 200)
	}
	r.rep.add(f)
	return nil
}

// tail keeps the last bytes a subprocess wrote, for error messages.
type tail struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if t.b.Len() > 8192 {
		t.b.Next(t.b.Len() - 8192)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}

func (r *run) serve(ctx context.Context) (float64, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs tail
	cmd := exec.Command(r.cfg.ServeBinary, "serve", "--addr", addr, "--database-url", r.url, "--store", "postgres")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s serve: %w (pass --serve-binary with a kaiku binary, or empty to measure in process)", r.cfg.ServeBinary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			return 0, 0, fmt.Errorf("kaiku serve exited (%v) before it was ready:\n%s", err, logs.String())
		default:
		}
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, 0, fmt.Errorf("kaiku serve was not ready within 2 minutes:\n%s", logs.String())
		}
	}
	national, _, err := postgres.NewAPIKeys(r.pool).Create(ctx, domain.Principal{Role: domain.RoleNational}, "bench")
	if err != nil {
		return 0, 0, err
	}
	do := func(ctx context.Context, method, path, key, body string, want int) error {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
		}
		return nil
	}
	year := strconv.Itoa(r.until.Year())
	p := r.cfg.progress("kaiku serve under load (8 clients)", int64(r.lim.http.n))
	n, _, _, err := workers(ctx, 8, budget{r.lim.http.n, r.lim.http.max}, func(ctx context.Context, w, i int) error {
		defer p.Add(1)
		switch i % 4 {
		case 0:
			return do(ctx, "GET", "/v1/statistics/national/"+year, national, "", http.StatusOK)
		case 1:
			return do(ctx, "GET", "/v1/history?limit=100", national, "", http.StatusOK)
		default:
			u := r.uses[(i*8+w)%len(r.uses)]
			body := fmt.Sprintf(`{"usedOn":%q,"id":"serve-%d","childTickets":0}`, u.rec.UsedOn.String(), i)
			return do(ctx, "POST", "/v1/cards/"+string(u.rec.Card)+"/uses", r.venueKey[string(u.rec.Venue)], body, http.StatusCreated)
		}
	})
	p.Done()
	if err != nil {
		return 0, 0, fmt.Errorf("load on kaiku serve: %w", err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the server's memory: %w (needs Linux /proc)", err)
	}
	return hwmOf(string(b)), n, nil
}
