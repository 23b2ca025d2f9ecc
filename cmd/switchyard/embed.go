package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/gateway"
)

// fileBatch is how many lines of --file are embedded per call: enough to
// keep both cores busy, few enough that memory stays flat on huge files.
const fileBatch = 256

// localFlags are the flags of every command that loads the in-process model.
type localFlags struct {
	models    string
	simd      string
	precision string
	threads   int
}

func (f *localFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.models, "models", "", "models directory (default $SWITCHYARD_MODELS, else $XDG_CACHE_HOME/switchyard/models)")
	cmd.Flags().StringVar(&f.simd, "simd", "", "force a kernel path: auto, generic, avx2, avx512 (default $SWITCHYARD_SIMD, else auto)")
	cmd.Flags().StringVar(&f.precision, "precision", "", "arithmetic of the linear layers: auto, fp32, int8 (default $SWITCHYARD_PRECISION, else auto: int8 with AVX2 or AVX-512)")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "cores the model may use (default $SWITCHYARD_THREADS, else all)")
}

// open loads the built-in model as the flags and environment say.
func (f *localFlags) open(cmd *cobra.Command, e env) (*embed.Local, error) {
	simd := f.simd
	if simd == "" {
		simd = e.getenv("SWITCHYARD_SIMD")
	}
	level, err := kernel.ParseLevel(simd)
	if err != nil {
		return nil, err
	}
	precision := f.precision
	if precision == "" {
		precision = e.getenv("SWITCHYARD_PRECISION")
	}
	prec, err := kernel.ParsePrecision(precision)
	if err != nil {
		return nil, err
	}
	threads := f.threads
	if threads == 0 && e.getenv("SWITCHYARD_THREADS") != "" {
		threads, err = strconv.Atoi(e.getenv("SWITCHYARD_THREADS"))
		if err != nil || threads < 0 {
			return nil, fmt.Errorf("SWITCHYARD_THREADS=%q is not a non-negative integer", e.getenv("SWITCHYARD_THREADS"))
		}
	}
	m := modelstore.MiniLM()
	root, err := gateway.ModelsRoot(f.models, e.getenv)
	if err != nil {
		return nil, err
	}
	return embed.NewLocal(cmd.Context(), m.Dir(root), m, embed.LocalOptions{Level: level, ForceLevel: true, Threads: threads, Precision: prec})
}

func embedCmd(e env) *cobra.Command {
	var (
		lf     localFlags
		asJSON bool
		file   string
	)
	cmd := &cobra.Command{
		Use:   "embed [--json] TEXT... | --file F",
		Short: "Embed texts with the in-process model",
		Long: "Embed prints one vector per text. With --json, or with --file (one text per\n" +
			"line, - for standard input), each vector is a JSON array on its own line.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" && len(args) == 0 {
				return fmt.Errorf("nothing to embed: give TEXT arguments or --file")
			}
			if file != "" && len(args) > 0 {
				return fmt.Errorf("give TEXT arguments or --file, not both")
			}
			model, err := lf.open(cmd, e)
			if err != nil {
				return err
			}
			defer model.Close()
			out := bufio.NewWriter(e.stdout)
			defer out.Flush()
			if file != "" {
				return embedFile(cmd, model, file, e.stdin, out)
			}
			vecs, err := model.Embed(cmd.Context(), args)
			if err != nil {
				return err
			}
			for i, v := range vecs {
				if asJSON {
					if err := writeVector(out, v); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(out, "%s\n  %d tokens, %d dims, norm %.4f: %s\n",
					strconv.Quote(args[i]), len(model.Tokens(args[i])), len(v), norm(v), preview(v))
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each vector as a JSON array on its own line")
	cmd.Flags().StringVar(&file, "file", "", "embed each line of this file (- for standard input)")
	return cmd
}

func embedFile(cmd *cobra.Command, model *embed.Local, path string, stdin io.Reader, out *bufio.Writer) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	r := bufio.NewReaderSize(in, 1<<16)
	batch := make([]string, 0, fileBatch)
	flush := func() error {
		vecs, err := model.Embed(cmd.Context(), batch)
		if err != nil {
			return err
		}
		for _, v := range vecs {
			if err := writeVector(out, v); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 || err == nil {
			// Every line, even an empty one, yields a vector, so output line
			// n always belongs to input line n.
			batch = append(batch, strings.TrimRight(line, "\r\n"))
			if len(batch) == fileBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}

func writeVector(w *bufio.Writer, v []float32) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func preview(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i == 4 && len(v) > 6 {
			fmt.Fprintf(&b, " … %+.4f]", v[len(v)-1])
			return b.String()
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%+.4f", x)
	}
	return b.String() + "]"
}
