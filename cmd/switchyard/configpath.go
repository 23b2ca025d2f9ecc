package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
)

// configPathCmds are `config path` and `config edit` (MAS's `mas config`).
func configPathCmds(e env) []*cobra.Command {
	var cf configFlags
	path := &cobra.Command{
		Use:   "path",
		Short: "Print the config file's path (and, on stderr, what chose it)",
		Long: "path prints the config file serve would read: --config, else $SWITCHYARD_CONFIG,\n" +
			"else the workspace's config.yaml, else $MAS_CONFIG_PATH, else\n" +
			"$XDG_CONFIG_HOME/switchyard/config.yaml if it exists, else ~/.mas/config.json\n" +
			"if it exists, else $XDG_CONFIG_HOME/switchyard/config.yaml (serve creates it).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, from, err := cf.resolveFrom(e)
			if err != nil {
				return err
			}
			state := "exists"
			if _, err := os.Stat(p); err != nil {
				state = "does not exist yet"
			}
			fmt.Fprintf(e.stderr, "chosen by %s; %s\n", from, state)
			fmt.Fprintln(e.stdout, p)
			return nil
		},
	}
	path.Flags().StringVar(&cf.path, "config", "", configHelp)
	var ef configFlags
	edit := &cobra.Command{
		Use:   "edit",
		Short: "Open the config file in $VISUAL or $EDITOR, then check it",
		Long: "edit opens the config file (see config path) in $VISUAL, else $EDITOR, writing\n" +
			"the first-run config first if there is none, and checks it when the editor\n" +
			"exits. With neither variable set it prints the path to open.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, from, err := ef.resolveFrom(e)
			if err != nil {
				return err
			}
			if err := firstRun(e, p, from); err != nil {
				return err
			}
			editor := e.getenv("VISUAL")
			if editor == "" {
				editor = e.getenv("EDITOR")
			}
			if editor == "" {
				fmt.Fprintf(e.stderr, "neither $VISUAL nor $EDITOR is set; the config is at:\n")
				fmt.Fprintln(e.stdout, p)
				return nil
			}
			// Through the shell, as git does, so that EDITOR="code --wait" works.
			run := exec.Command("/bin/sh", "-c", editor+` "$@"`, editor, p)
			run.Env = e.environ()
			run.Stdin, run.Stdout, run.Stderr = os.Stdin, e.stdout, e.stderr
			if err := run.Run(); err != nil {
				return fmt.Errorf("%s: %w", editor, err)
			}
			if _, err := config.Load(p, e.environ, nil); err != nil {
				return fmt.Errorf("the edited config has problems (serve would refuse it; a running server keeps its config):\n%w", err)
			}
			fmt.Fprintf(e.stderr, "%s: ok\n", p)
			return nil
		},
	}
	edit.Flags().StringVar(&ef.path, "config", "", configHelp)
	return []*cobra.Command{path, edit}
}
