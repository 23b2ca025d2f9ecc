// Command switchyard is a semantic LLM router. This file wires the
// sub-commands; each lives in a file of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/workspace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], env{getenv: os.Getenv, environ: os.Environ, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// env is everything a command may take from its process, injected so that
// tests run commands in-process.
type env struct {
	getenv  func(string) string
	environ func() []string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

// gateway is what the serving runtime takes from e.
func (e env) gateway() gateway.Env {
	return gateway.Env{Getenv: e.getenv, Environ: e.environ, Stderr: e.stderr}
}

// withWorkspace is e with the --workspace flag, once parsed into *dir,
// in its environment as SWITCHYARD_WORKSPACE, so that everything that
// takes its paths from the environment (package workspace, the gateway,
// a background server started by start) sees it.
func (e env) withWorkspace(dir *string) env {
	getenv, environ := e.getenv, e.environ
	abs := func() string {
		if a, err := filepath.Abs(*dir); err == nil {
			return a
		}
		return *dir
	}
	e.getenv = func(k string) string {
		if k == workspace.EnvWorkspace && *dir != "" {
			return abs()
		}
		return getenv(k)
	}
	e.environ = func() []string {
		if *dir == "" {
			return environ()
		}
		return append(environ(), workspace.EnvWorkspace+"="+abs())
	}
	return e
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes one command line and returns the process exit status.
func run(ctx context.Context, args []string, e env) int {
	root := commands(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(e.stderr, "switchyard:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// commands builds the command tree (docs_test.go checks the documented
// command lines against it).
func commands(e env) *cobra.Command {
	ws := new(string) // --workspace, read by e's getenv once flags are parsed
	e = e.withWorkspace(ws)
	root := &cobra.Command{
		Use:   "switchyard",
		Short: "A semantic LLM router",
		Long: "switchyard routes LLM requests that name no model to the provider chain whose\n" +
			"route best matches the conversation, using an embedding model running in-process.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(), // --version
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(ws, "workspace", "", "one directory for config.yaml, data/, logs/ and the pid file (default $SWITCHYARD_WORKSPACE, else $MODELSWITCH_WORKSPACE; none: the XDG directories)")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(serveCmd(e), routeCmd(e), configCmd(e), embedCmd(e), modelCmd(e), versionCmd(e), evalCmd(e), fitCmd(e))
	root.AddCommand(routesCmd(e), statusCmd(e), statsCmd(e), keysCmd(e), logsCmd(e))
	root.AddCommand(providersCmd(e))
	root.AddCommand(startCmd(e), stopCmd(e), restartCmd(e), serverCmd(e), serviceCmd(e), healthCmd(e))
	return root
}
