package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func configCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and print the configuration; print other tools' settings for this server",
	}
	var cf configFlags
	check := &cobra.Command{
		Use:   "check [--config F]",
		Short: "Validate the config and print the effective one (secrets masked)",
		Long: "check loads the config file, applies SWITCHYARD_* environment overrides,\n" +
			"reports every problem with its path, and prints the effective config.\n" +
			"It warns, without failing, about an api_key_env or headers_env naming a\n" +
			"variable that is unset or empty in its environment.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := cf.load(cmd, e)
			if err != nil {
				return err
			}
			out, err := cfg.Effective()
			if err != nil {
				return err
			}
			// Warnings do not fail the check: the environment check runs
			// in may not be the one serve will run in.
			for _, w := range cfg.Warnings(e.getenv) {
				fmt.Fprintf(e.stderr, "%s: warning: %s\n", path, w)
			}
			fmt.Fprintf(e.stderr, "%s: ok\n", path)
			_, err = e.stdout.Write(out)
			return err
		},
	}
	cf.register(check)
	cmd.AddCommand(check, claudeCodeCmd(e))
	cmd.AddCommand(configPathCmds(e)...)
	return cmd
}
