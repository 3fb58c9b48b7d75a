// Command creditgate is a reverse proxy that puts credit limits in front of
// any HTTP API: each call costs credits out of a pool that refills over a
// rolling window (Zoho CRM's Enterprise profile by default), concurrency is
// capped per application and for heavy APIs (Zoho's complex ones share one
// cap), refusals are 429s with Retry-After and the limit headers clients
// know.
//
// Install:
//
//	go install github.com/creditgate/creditgate/cmd/creditgate@latest
//
// Usage:
//
//	creditgate demo                                         # a fake CRM, the gateway, four integrations: why the governor matters
//	creditgate serve -upstream http://127.0.0.1:9000      # the default plan, no file needed
//	creditgate serve -config creditgate.yaml
//	creditgate check creditgate.yaml                        # validate, print the plan and cost table
//	creditgate config example > creditgate.yaml             # every field, commented
//
// A bad configuration exits with status 2 and names the file, line and field.
// See README.md beside this file for the configuration, signals and metrics.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1 // the gateway could not run (a port in use, say)
	exitConfig = 2 // bad usage or configuration
)

//go:embed example.yaml
var exampleYAML []byte

// command is one subcommand. Each registers itself from its own file
// (register in an init function), so a new one is one new file.
type command struct {
	name    string
	summary string
	hidden  bool
	run     func(ctx context.Context, args []string, e *env) int
}

// env is what a command reads and writes besides its arguments.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	os.Exit(run(context.Background(), os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitConfig
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(e.stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "creditgate: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitConfig
	}
	return c.run(ctx, args[1:], e)
}

// parseFlags parses a command's flags. Help asked for (-h) prints fs.Usage
// on standard output and returns exitOK; a bad flag is one line on standard
// error and returns exitConfig; ok is false in both cases. fs.Usage must
// write to fs.Output().
func parseFlags(fs *flag.FlagSet, args []string, e *env) (code int, ok bool) {
	fs.SetOutput(io.Discard) // the flag package's own message and usage
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK, false
	default:
		fmt.Fprintf(e.stderr, "creditgate %s: %v (\"creditgate %s -h\" lists the flags)\n", fs.Name(), err, fs.Name())
		return exitConfig, false
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "creditgate: a reverse proxy that enforces credit limits in front of an HTTP API.")
	fmt.Fprintln(w, "\nUsage: creditgate COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n"+strings.TrimSpace(`
Run "creditgate COMMAND -h" for a command's flags. With no configuration file,
serve runs Zoho CRM's Enterprise plan (1 licence: 51,000 credits a rolling day)
and its v8 cost table; "creditgate config example" prints every field.`))
}
