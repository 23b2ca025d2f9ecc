package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/usage"
)

// convlogPath is the conversation log's file for cfg.
func convlogPath(cfg *config.Config, e env) (string, error) {
	if cfg.ConversationLog.Path != "" {
		return cfg.ConversationLog.Path, nil
	}
	p, err := usage.DefaultPath(e.getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), "conversations.jsonl"), nil
}

// openConvlog opens the conversation log when cfg turns it on; stop
// writes what is queued and closes it.
func openConvlog(cfg *config.Config, e env, log zerolog.Logger) (*convlog.Log, func(), error) {
	c := cfg.ConversationLog
	if !c.Enabled {
		return nil, func() {}, nil
	}
	path, err := convlogPath(cfg, e)
	if err != nil {
		return nil, nil, fmt.Errorf("conversation log: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("conversation log: %w", err)
	}
	l, err := convlog.Open(convlog.Options{Path: path, MaxSizeMB: c.MaxSizeMB, MaxBackups: c.MaxBackups, Redact: c.Redact})
	if err != nil {
		return nil, nil, err
	}
	log.Info().Str("path", path).Str("redact", c.Redact).Msg("conversation log on")
	return l, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			log.Warn().Err(err).Msg("conversation log: not all entries written")
		}
		if n := l.Dropped(); n > 0 {
			log.Warn().Uint64("dropped", n).Msg("conversation log: entries dropped (queue full)")
		}
	}, nil
}

func logsCmd(e env) *cobra.Command {
	var (
		cf     configFlags
		file   string
		f      convlog.Filter
		follow bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "logs [--key K] [--route R] [--follow] [--json]",
		Short: "Show the conversation log",
		Long: "logs prints the conversation log (conversation_log in the config, or --file):\n" +
			"per request, who asked, where it was routed, what was sent and what came back.\n" +
			"--follow waits for new entries.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				cfg, _, err := cf.load(cmd, e)
				if err != nil {
					return err
				}
				if file, err = convlogPath(cfg, e); err != nil {
					return err
				}
			}
			fh, err := os.Open(file)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no conversation log at %s (conversation_log.enabled in the config)", file)
			}
			if err != nil {
				return err
			}
			defer fh.Close()
			print := func(en convlog.Entry) error {
				if asJSON {
					return json.NewEncoder(e.stdout).Encode(en)
				}
				printEntry(e.stdout, en)
				return nil
			}
			for {
				if err := convlog.Read(fh, f, print); err != nil {
					return err
				}
				if !follow {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&file, "file", "", "log file (default: the config's conversation_log.path)")
	cmd.Flags().StringVar(&f.Key, "key", "", "only this client key's requests")
	cmd.Flags().StringVar(&f.Route, "route", "", "only this route's requests")
	cmd.Flags().BoolVar(&follow, "follow", false, "wait for new entries")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the entries as JSON lines")
	return cmd
}

// printEntry writes one entry for people: a header line, then the last
// user message and the answer's text.
func printEntry(w io.Writer, en convlog.Entry) {
	who := en.Key
	if who == "" {
		who = "-"
	}
	fmt.Fprintf(w, "%s  %s  key %s  route %s (%s)  %s  status %d  %.0f ms\n", en.Time.Local().Format(time.DateTime),
		en.RequestID, who, orDash(en.Route), orDash(en.DecidedBy), orDash(en.Target), en.Status, en.LatencyMS)
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(en.Request, &req) == nil && len(req.Messages) > 0 {
		m := req.Messages[len(req.Messages)-1]
		fmt.Fprintf(w, "  %s: %s\n", m.Role, oneLine(string(m.Content)))
	}
	switch {
	case en.Text != "":
		fmt.Fprintf(w, "  answer: %s\n", oneLine(en.Text))
	case len(en.Answer) > 0:
		fmt.Fprintf(w, "  answer: %s\n", oneLine(string(en.Answer)))
	}
	if len(en.ToolCalls) > 0 {
		fmt.Fprintf(w, "  tool calls: %s\n", oneLine(string(en.ToolCalls)))
	}
	if en.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", en.Error)
	}
}

func oneLine(s string) string { return clip(s, 300) }
