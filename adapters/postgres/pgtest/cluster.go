package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Cluster is a throwaway PostgreSQL cluster of one test: its own data
// directory, server process and transaction ids, so that what the test does
// to them (an open transaction holding the cluster-wide fence, transaction
// ids pushed up) never reaches other tests. NewCluster removes it at
// cleanup.
type Cluster struct {
	// URL reaches the cluster's postgres database as user postgres.
	URL string
	// Dir holds the data directory (Dir/data) and the server's log.
	Dir string
	bin string
	as  []string // runs a command as the cluster's owner when we are root
}

// ClusterOptions tune NewCluster.
type ClusterOptions struct {
	// XidEpoch, when > 0, sets the cluster's transaction id epoch with
	// pg_resetwal -e before it starts: its 64-bit transaction ids (xid8)
	// then start at XidEpoch << 32, as in a cluster that has run for years.
	XidEpoch int
}

// NewCluster initialises and starts a cluster for tb with initdb and
// pg_ctl from the PostgreSQL server binaries (PATH, else
// /usr/lib/postgresql/*/bin, highest version first), on a free port of
// 127.0.0.1 with trust authentication. Run as root, the cluster belongs to
// the postgres (else nobody) account and its commands run through runuser.
// With the binaries missing it skips tb, naming what to install, unless
// CI=true or KAIKU_REQUIRE_DB=1, where it fails.
func NewCluster(tb testing.TB, o ClusterOptions) *Cluster {
	tb.Helper()
	bin, err := ServerBinDir()
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL server binaries (%v): install them, e.g. 'apt-get install postgresql' (Debian/Ubuntu) or 'brew install postgresql@15'", err)
		if os.Getenv("CI") == "true" || os.Getenv("KAIKU_REQUIRE_DB") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "kaiku-cluster-")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{Dir: dir, bin: bin}
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("remove cluster directory %s: %v", dir, err)
		}
	})
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		var owner *user.User
		for _, name := range []string{"postgres", "nobody"} {
			if owner, err = user.Lookup(name); err == nil {
				break
			}
		}
		if owner == nil {
			tb.Fatal("running as root and no postgres or nobody account to own a test cluster: run as another user")
		}
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.as = []string{"runuser", "-u", owner.Username, "--"}
	}
	data := filepath.Join(dir, "data")
	c.run(tb, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	if o.XidEpoch > 0 {
		c.run(tb, "pg_resetwal", "-e", strconv.Itoa(o.XidEpoch), "-D", data)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	c.run(tb, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=32MB -c max_connections=40", port, dir),
		"start")
	tb.Cleanup(func() {
		if out, err := c.command("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			tb.Logf("stop test cluster: %v: %s", err, out)
		}
	})
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c
}

// Pool returns a pool on the cluster's postgres database, closed at
// cleanup (no migrations applied).
func (c *Cluster) Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, c.URL)
	if err != nil {
		tb.Fatalf("connect to the test cluster: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		tb.Fatalf("connect to the test cluster: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// Run runs one of the cluster's PostgreSQL binaries (pg_dump, pg_restore,
// psql...) as its owner and fails tb, with the output, when it fails. The
// owner must be able to read and write the paths in args (Dir is its own).
func (c *Cluster) Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	return c.run(tb, name, args...)
}

func (c *Cluster) run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := c.command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	argv := append(append(slices.Clone(c.as), filepath.Join(c.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	return cmd
}

// ServerBinDir returns the directory of the PostgreSQL server binaries
// (initdb, pg_ctl, pg_resetwal, pg_dump, pg_restore): initdb's on PATH,
// else the highest version under /usr/lib/postgresql/*/bin.
func ServerBinDir() (string, error) {
	need := []string{"initdb", "pg_ctl", "pg_resetwal", "pg_dump", "pg_restore", "postgres"}
	has := func(dir string) bool {
		for _, n := range need {
			if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("none of " + strings.Join(need, ", ") + " found on PATH or under /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
