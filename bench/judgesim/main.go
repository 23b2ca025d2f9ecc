// Command judgesim is a simulated LLM judge for measuring switchyard's judge
// step without a language model: an OpenAI-compatible server (POST
// /v1/chat/completions, GET /v1/models) that knows the gold label of every
// text of a labelled corpus and answers the judge's question with it.
//
// It is an oracle, not a model. For a request whose user text is in the
// corpus, it answers the gold route (or "none" for a text labelled oos or
// with a --none label) with probability --accuracy when that answer is among the offered
// candidates, and otherwise a uniformly random candidate or "none"; the
// draw is seeded per text (--seed), so a rerun gives the same answers in
// any order. Every answer waits --latency (± up to --jitter) first.
//
// The answer is a call of the forced tool (choose_route({"route": X})) when
// the request offers tools, otherwise the plain text {"route": "X"}.
//
// Usage:
//
//	judgesim --data corpus.jsonl [--addr 127.0.0.1:0] [--addr-file F]
//	         [--accuracy 0.9] [--latency 300ms] [--jitter 0] [--seed 1]
//	         [--none LABEL]...
//
// It prints its base URL (http://HOST:PORT/v1) on stdout, and into
// --addr-file if set; counters are at GET /stats and are printed to stderr
// on exit (SIGINT, SIGTERM).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "judgesim:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("judgesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data     = fs.String("data", "", "labelled corpus, JSON Lines {\"text\"|\"messages\": ..., \"label\": ROUTE|oos} (required)")
		addr     = fs.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free one)")
		addrFile = fs.String("addr-file", "", "write the base URL here once listening")
		opts     Options
	)
	fs.Float64Var(&opts.Accuracy, "accuracy", 0.9, "probability of answering the gold label when it is a candidate (or oos)")
	fs.DurationVar(&opts.Latency, "latency", 300*time.Millisecond, "delay before every answer")
	fs.DurationVar(&opts.Jitter, "jitter", 0, "uniform extra delay in [-jitter, +jitter]")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the per-text draws")
	fs.Func("none", "a label whose right answer is \"none\" besides oos, e.g. the default route's (repeatable)", func(v string) error {
		opts.NoneLabels = append(opts.NoneLabels, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	if opts.Accuracy < 0 || opts.Accuracy > 1 {
		return fmt.Errorf("--accuracy %v is not in [0, 1]", opts.Accuracy)
	}
	fh, err := os.Open(*data)
	if err != nil {
		return err
	}
	corpus, err := ReadCorpus(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("corpus %s: %w", *data, err)
	}
	sim := New(corpus, opts)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/v1"
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(url+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, url)
	fmt.Fprintf(stderr, "judgesim: %d texts, accuracy %.2f, latency %s ± %s, listening on %s\n", sim.Texts(), opts.Accuracy, opts.Latency, opts.Jitter, url)

	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	st := sim.Stats()
	fmt.Fprintf(stderr, "judgesim: %d requests: %d known texts (%d gold answers), %d unknown, %d plain-text, %d bad\n",
		st.Requests, st.Known, st.Gold, st.Unknown, st.PlainText, st.Bad)
	return err
}
