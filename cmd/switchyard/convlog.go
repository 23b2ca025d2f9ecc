package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/gateway"
)

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
				if file, err = gateway.ConvlogPath(cfg, e.getenv); err != nil {
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
