package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{name: "config", summary: "config example: print a commented configuration with every field", run: configCmd})
}

func configCmd(_ context.Context, args []string, e *env) int {
	const usage = "Usage: creditgate config example   (prints a commented configuration with every field and its default)"
	if len(args) == 1 {
		switch args[0] {
		case "-h", "-help", "--help": // help asked for, as parseFlags answers it
			fmt.Fprintln(e.stdout, usage)
			return exitOK
		}
	}
	if len(args) != 1 || args[0] != "example" {
		fmt.Fprintln(e.stderr, usage)
		return exitConfig
	}
	_, _ = e.stdout.Write(exampleYAML)
	return exitOK
}
