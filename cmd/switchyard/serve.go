package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/workspace"
)

// configHelp describes --config: where the file is looked for without it
// (package workspace decides).
const configHelp = "config file (default $SWITCHYARD_CONFIG, else the workspace's config.yaml, else $MAS_CONFIG_PATH, else $XDG_CONFIG_HOME/switchyard/config.yaml if it exists, else ~/.mas/config.json if it exists)"

// configFlags are shared by the commands that read the config.
type configFlags struct {
	path   string
	models string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "config", "", configHelp)
	cmd.Flags().StringVar(&f.models, "models", "", "models directory for the local embedder")
}

// registerPersistent registers the flags for cmd and its sub-commands.
func (f *configFlags) registerPersistent(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.path, "config", "", configHelp)
}

func (f *configFlags) resolve(e env) (string, error) {
	path, _, err := f.resolveFrom(e)
	return path, err
}

// resolveFrom is resolve, also saying what chose the file (one of the
// workspace.From constants).
func (f *configFlags) resolveFrom(e env) (path, from string, err error) {
	if f.path != "" {
		return f.path, workspace.FromFlag, nil
	}
	l := workspace.Resolve(e.getenv)
	path, err = l.ConfigFile()
	return path, l.ConfigFrom, err
}

// load reads and validates the config; flags the user set override it.
func (f *configFlags) load(cmd *cobra.Command, e env) (*config.Config, string, error) {
	path, err := f.resolve(e)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path, e.environ, cmd.Flags())
	if err != nil {
		return nil, path, err
	}
	return cfg, path, nil
}

func serveCmd(e env) *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the router (OpenAI-compatible API)",
		Long: "serve routes POST /v1/chat/completions requests that name no model (or\n" +
			"\"auto\") to the best-matching route's provider chain. With no config file\n" +
			"it writes a first config to the default path and serves that: its routes use\n" +
			"OpenAI and/or Anthropic when OPENAI_API_KEY / ANTHROPIC_API_KEY are set, else\n" +
			"the echo provider, which calls no model and answers with the routing decision.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, from, err := cf.resolveFrom(e)
			if err != nil {
				return err
			}
			_, statErr := os.Stat(path)
			// With no config file, AI Proxy's variables configure the
			// server, if set; a file written later takes over on reload.
			fromEnv := errors.Is(statErr, os.ErrNotExist) && config.HasAIProxyEnv(e.getenv)
			if !fromEnv {
				if err := firstRun(e, path, from); err != nil {
					return err
				}
			}
			var cfg *config.Config
			if fromEnv {
				cfg, err = config.FromAIProxyEnv(e.getenv, e.environ, cmd.Flags())
			} else {
				cfg, _, err = cf.load(cmd, e)
			}
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log.Level, cfg.Log.Format, e.stderr, e.getenv("NO_COLOR") != "")
			if fromEnv {
				log.Info().Str("source", config.AIProxyEnvSource).Str("missing_file", path).Msg("no config file: configured from AI Proxy's environment variables")
			} else {
				log.Info().Str("path", path).Str("chosen_by", from).Msg("config file")
			}
			for _, w := range cfg.Warnings(e.getenv) {
				log.Warn().Msg(w)
			}
			gw := gateway.New(gateway.Options{ConfigPath: path, Flags: cmd.Flags(), ModelsDir: cf.models, Env: e.gateway(), Log: log})
			// SIGHUP reloads the config. Registered here, for serve's
			// lifetime only, so that other commands keep the default.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			return gw.Serve(cmd.Context(), cfg, hup)
		},
	}
	cf.register(cmd)
	cmd.Flags().String("listen", "", "address to listen on (overrides the config's listen)")
	return cmd
}

// firstRun writes the first config (config.FirstRun) to path when no file
// is there, except where MAS's variable named it: a MAS user gets an error
// rather than a switchyard file at the place MAS reads.
func firstRun(e env, path, from string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if from == workspace.FromMASEnv {
		return fmt.Errorf("MAS_CONFIG_PATH names %s, which does not exist (write a MAS config there, or unset MAS_CONFIG_PATH to use switchyard's own)", path)
	}
	if err := config.WriteFirstRun(path, e.getenv); err != nil {
		return fmt.Errorf("write a first config: %w", err)
	}
	fmt.Fprintf(e.stderr, "switchyard: no config found; wrote a first config to %s (%s)\n", path, firstRunNote(e.getenv))
	return nil
}

// firstRunNote says which providers the first config uses.
func firstRunNote(getenv func(string) string) string {
	if getenv(config.OpenAIKeyEnv) == "" && getenv(config.AnthropicKeyEnv) == "" {
		return "no " + config.OpenAIKeyEnv + " or " + config.AnthropicKeyEnv + " set: every route answers with the echo provider, which calls no model"
	}
	return "its routes use the providers whose keys are set"
}

// newLogger builds the process logger. The console format colours its
// output only on a terminal, and never with noColor (NO_COLOR is set,
// https://no-color.org): a log file or a pipe gets plain text.
func newLogger(level, format string, w io.Writer, noColor bool) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: noColor || !isTerminal(w)}
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
