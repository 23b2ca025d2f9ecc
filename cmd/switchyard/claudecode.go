package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// claudePlaceholder stands for a client key the user must fill in.
const claudePlaceholder = "REPLACE-WITH-A-SWITCHYARD-KEY"

// claudeSettingsMax bounds the settings file read for --write.
const claudeSettingsMax = 4 << 20

func claudeCodeCmd(e env) *cobra.Command {
	var (
		cf       configFlags
		url      string
		keyEnv   string
		model    string
		small    string
		write    bool
		settings string
	)
	cmd := &cobra.Command{
		Use:   "claude-code [--model M] [--key-env VAR] [--write]",
		Short: "Print (or write) the Claude Code settings that send it through this server",
		Long: "claude-code prints the \"env\" block of Claude Code's settings.json that points\n" +
			"Claude Code at this switchyard's Anthropic API: ANTHROPIC_BASE_URL (http:// +\n" +
			"the config's listen; Claude Code adds /v1/messages), ANTHROPIC_AUTH_TOKEN (the\n" +
			"client key in --key-env, else a placeholder when the server needs keys),\n" +
			"ANTHROPIC_MODEL and the opus and sonnet models (--model, default auto: let\n" +
			"switchyard route), and the haiku (background) model, --small-model.\n\n" +
			"--write merges the block into ~/.claude/settings.json ($CLAUDE_CONFIG_DIR\n" +
			"if set), keeping every other key, after copying the file to a backup.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := statusConfig(cmd, e, &cf)
			if err != nil {
				return err
			}
			if url == "" {
				url = defaultStatusURL
				if cfg != nil {
					url = "http://" + dialable(cfg.Listen)
				}
			}
			token := "switchyard" // an open server takes any token; Claude Code wants one
			if cfg != nil && (len(cfg.APIKeys) > 0 || cfg.Auth.GenerateKey) {
				token = claudePlaceholder
			}
			if keyEnv != "" {
				if token = e.getenv(keyEnv); token == "" {
					return fmt.Errorf("$%s is not set (--key-env names the variable holding a client key)", keyEnv)
				}
			}
			if small == "" {
				small = model
			}
			vars := map[string]string{
				"ANTHROPIC_BASE_URL":             strings.TrimRight(url, "/"),
				"ANTHROPIC_AUTH_TOKEN":           token,
				"ANTHROPIC_MODEL":                model,
				"ANTHROPIC_DEFAULT_OPUS_MODEL":   model,
				"ANTHROPIC_DEFAULT_SONNET_MODEL": model,
				"ANTHROPIC_DEFAULT_HAIKU_MODEL":  small,
				// The older name of the haiku model, for Claude Code
				// versions before ANTHROPIC_DEFAULT_HAIKU_MODEL.
				"ANTHROPIC_SMALL_FAST_MODEL": small,
			}
			if token == claudePlaceholder {
				fmt.Fprintf(e.stderr, "note: the server needs a client key: replace %s (switchyard keys create makes one), or pass --key-env\n", claudePlaceholder)
			}
			if !write {
				out, err := json.MarshalIndent(map[string]any{"env": vars}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "%s\n", out)
				return err
			}
			if settings == "" {
				if settings, err = claudeSettingsPath(e.getenv); err != nil {
					return err
				}
			}
			backup, err := writeClaudeSettings(settings, vars, time.Now())
			if err != nil {
				return err
			}
			if backup != "" {
				fmt.Fprintf(e.stderr, "backed up %s to %s\n", settings, backup)
			}
			fmt.Fprintf(e.stdout, "wrote Claude Code's env settings for %s into %s\n", vars["ANTHROPIC_BASE_URL"], settings)
			return nil
		},
	}
	cmd.Flags().StringVar(&cf.path, "config", "", "config file to take the listen address and key settings from (default: the file serve would read, as \"switchyard config path\" prints it)")
	cmd.Flags().StringVar(&url, "url", "", "the server's base URL as Claude Code reaches it (default http:// + the config's listen, else "+defaultStatusURL+")")
	cmd.Flags().StringVar(&keyEnv, "key-env", "", "environment variable holding the client key to write as ANTHROPIC_AUTH_TOKEN")
	cmd.Flags().StringVar(&model, "model", "auto", "the model Claude Code asks for: auto (switchyard routes), a route, an alias or provider/model")
	cmd.Flags().StringVar(&small, "small-model", "", "the model of Claude Code's background requests (default --model)")
	cmd.Flags().BoolVar(&write, "write", false, "merge the settings into Claude Code's settings.json instead of printing them")
	cmd.Flags().StringVar(&settings, "settings", "", "the settings file --write merges into (default $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json)")
	return cmd
}

// claudeSettingsPath is Claude Code's user settings file.
func claudeSettingsPath(getenv func(string) string) (string, error) {
	if dir := getenv("CLAUDE_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, "settings.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("no $HOME: give the settings file with --settings")
	}
	return filepath.Join(home, ".claude", "settings.json"), nil
}

// writeClaudeSettings merges vars into the env object of the settings
// file at path (created if missing), keeping every other key and value as
// it was, after copying an existing file to path + ".bak-" + the time. It
// returns the backup's path ("" when there was no file).
func writeClaudeSettings(path string, vars map[string]string, now time.Time) (string, error) {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return "", err
	case len(old) > claudeSettingsMax:
		return "", fmt.Errorf("%s is over %d bytes; not a settings file?", path, claudeSettingsMax)
	}
	out, err := mergeClaudeSettings(old, vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w (file left unchanged)", path, err)
	}
	perm := os.FileMode(0o600) // it holds a key
	backup := ""
	if old != nil {
		if info, err := os.Stat(path); err == nil {
			perm = info.Mode().Perm()
		}
		backup = path + ".bak-" + now.UTC().Format("20060102T150405Z")
		if err := os.WriteFile(backup, old, perm); err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".settings.json.tmp*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return backup, os.Rename(tmp.Name(), path)
}

// mergeClaudeSettings sets vars in the "env" object of a settings.json
// document (empty or absent: a new one), keeping every other key and
// every other env variable. Values are kept as raw JSON, so nothing the
// file holds is reinterpreted; keys come out sorted, indented by two
// spaces.
func mergeClaudeSettings(doc []byte, vars map[string]string) ([]byte, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(doc)) > 0 {
		if err := json.Unmarshal(doc, &top); err != nil || top == nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
	}
	env := map[string]json.RawMessage{}
	if raw, ok := top["env"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &env); err != nil || env == nil {
			return nil, errors.New(`"env" is not a JSON object`)
		}
	}
	for k, v := range vars {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		env[k] = b
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	top["env"] = b
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
