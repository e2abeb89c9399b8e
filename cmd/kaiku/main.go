// Command kaiku is the one binary of Kaiku: it serves the HTTP API, runs
// migrations, verifies the audit chain, seeds demo data, rebuilds read
// models, manages API keys and benchmarks. It only wires: flags and
// environment into configuration, signals into a context, and adapters into
// the domain. Run `kaiku help` for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// subcommand is one subcommand. Subcommands with children (audit verify,
// tokens create) are commands whose run dispatches again.
type subcommand struct {
	name    string
	summary string
	usage   string // argument synopsis after the name
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets: where to print, and the process environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// exitStatus ends a command with its own exit status; what it had to say
// was printed already.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errUsage means the command line was wrong; the usage was printed already.
var errUsage = errors.New("usage")

func commands() []subcommand {
	return []subcommand{
		{"serve", "run the HTTP API, projectors and the audit chainer", "[flags]", runServe},
		{"migrate", "apply database migrations and exit", "[flags]", runMigrate},
		{"audit", "tamper evidence: 'audit verify' checks the hash chain and seals; 'audit seal' seals now", "verify|seal [flags]", runAudit},
		{"seed", "fill a realistic demo network through the command handlers", "[flags]", runSeed},
		{"rebuild", "rebuild a read model beside the live one and switch atomically", "<projection> [flags]", runRebuild},
		{"tokens", "manage API keys: 'tokens create', 'tokens revoke', 'tokens list'", "create|revoke|list [flags]", runTokens},
		{"bench", "measure every path against its raw PostgreSQL baseline", "[flags]", runBench},
		{"project", "run projectors only, consuming the log from a bus (scale-out)", "[flags]", runProject},
		{"export", "write a table as CSV or XLSX to standard output", "<table> [--format csv|xlsx] [--year Y] [--locality L]", runExport},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, e, os.Args[1:]))
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, e, []string{args[1], "--help"})
		}
		printUsage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var st exitStatus
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.As(err, &st):
			return st.code
		default:
			fmt.Fprintf(e.stderr, "kaiku %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "kaiku: unknown command %q\n\n", args[0])
	printUsage(e.stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: kaiku <command> [flags]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help. Configuration comes from flags or the environment:")
	fmt.Fprintln(w, "  DATABASE_URL (--database-url), KAIKU_ADDR (--addr), KAIKU_STORE (--store), KAIKU_BUS (--bus)")
}

// newFlags returns a FlagSet for a subcommand whose --help prints the
// synopsis and flags to stdout, and whose errors go to stderr.
func newFlags(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("kaiku "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: kaiku %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(about))
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args; --help prints usage to stdout and returns flag.ErrHelp.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}
