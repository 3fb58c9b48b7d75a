package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// configFlags are the flags serve and check share: -config, and one per
// config.Settings entry.
type configFlags struct {
	fs     *flag.FlagSet
	file   *string
	values map[string]*string
}

func newConfigFlags(name string, stderr io.Writer) *configFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &configFlags{fs: fs, values: map[string]*string{}}
	cf.file = fs.String("config", "", "configuration file, YAML or JSON (env CREDITGATE_CONFIG); none: the built-in default")
	for _, s := range config.Settings {
		cf.values[s.Flag] = fs.String(s.Flag, "", fmt.Sprintf("%s (env %s; file: %s)", s.Usage, s.Env, s.Path))
	}
	return cf
}

// load reads the configuration: the file (flag, then environment), then the
// environment's settings, then the flags given, and validates the result.
// It can be called again to reload.
func (cf *configFlags) load(file string, getenv func(string) string) (*config.Effective, error) {
	if file == "" {
		file = *cf.file
	}
	if file == "" {
		file = getenv("CREDITGATE_CONFIG")
	}
	c := config.Default()
	if file != "" {
		var err error
		if c, err = config.Load(file); err != nil {
			return nil, err
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return nil, err
	}
	var errs config.Errors
	cf.fs.Visit(func(f *flag.Flag) {
		if v, ok := cf.values[f.Name]; ok {
			if err := c.Set(f.Name, *v, config.Pos{Source: "flag -" + f.Name}); err != nil {
				errs = append(errs, err.(*config.Error))
			}
		}
	})
	if len(errs) > 0 {
		return nil, errs
	}
	return config.Build(c)
}

// newLogger writes structured logs to w at level, in format (text or json).
func newLogger(w io.Writer, level *slog.LevelVar, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
