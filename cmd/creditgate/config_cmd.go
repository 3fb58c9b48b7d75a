package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{name: "config", summary: "config example: print a commented configuration with every field", run: configCmd})
}

func configCmd(_ context.Context, args []string, e *env) int {
	if len(args) != 1 || args[0] != "example" {
		fmt.Fprintln(e.stderr, "Usage: creditgate config example   (prints a commented configuration with every field and its default)")
		return exitConfig
	}
	_, _ = e.stdout.Write(exampleYAML)
	return exitOK
}
