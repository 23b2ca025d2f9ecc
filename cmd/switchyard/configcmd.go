package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func configCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and print the configuration",
	}
	var cf configFlags
	check := &cobra.Command{
		Use:   "check [--config F]",
		Short: "Validate the config and print the effective one (secrets masked)",
		Long: "check loads the config file, applies SWITCHYARD_* environment overrides,\n" +
			"reports every problem with its path, and prints the effective config.",
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
			fmt.Fprintf(e.stderr, "%s: ok\n", path)
			_, err = e.stdout.Write(out)
			return err
		},
	}
	cf.register(check)
	cmd.AddCommand(check)
	return cmd
}
