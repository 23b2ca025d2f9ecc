// Command build writes the task library (tasks/library.jsonl) from the
// llm_tasks train split and the team's written prompts, and with -vectors
// the shipped vectors (tasks/vectors.bin) with the real in-process model.
//
//	go run ./tasks/build [-shared ../shared/datasets] [-vectors] [-models DIR]
//
// Rows that also appear (case- and whitespace-insensitively) in any split
// other than train of any dataset under -shared, or in the project's eval
// corpus, are left out: the library must not contain what switchyard is
// measured on. The output is sorted by (label, text), so it is
// reproducible.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/tasks"
)

func main() {
	shared := flag.String("shared", "../shared/datasets", "the shared datasets folder")
	vectors := flag.Bool("vectors", false, "also embed the library's texts with the local model into tasks/vectors.bin")
	models := flag.String("models", "", "models root (default $SWITCHYARD_MODELS, else the XDG cache)")
	flag.Parse()
	if err := run(*shared, *vectors, *models); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

type row struct {
	Text   string `json:"text"`
	Label  string `json:"label"`
	Source string `json:"source,omitempty"`
}

func norm(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func readJSONL(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []row
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r struct {
			row
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if r.Text == "" {
			for _, m := range r.Messages {
				out = append(out, row{Text: m.Content})
			}
			continue
		}
		out = append(out, r.row)
	}
	return out, sc.Err()
}

func run(shared string, withVectors bool, models string) error {
	// Everything switchyard is measured on.
	exclude := map[string]string{}
	evalFiles, _ := filepath.Glob(filepath.Join(shared, "*", "*.jsonl"))
	evalFiles = append(evalFiles, "testdata/eval/corpus.jsonl")
	for _, p := range evalFiles {
		if filepath.Base(p) == "train.jsonl" {
			continue
		}
		rows, err := readJSONL(p)
		if err != nil {
			return err
		}
		for _, r := range rows {
			exclude[norm(r.Text)] = p
		}
	}

	train, err := readJSONL(filepath.Join(shared, "llm_tasks", "train.jsonl"))
	if err != nil {
		return err
	}
	written, _ := filepath.Glob("tasks/written/*.jsonl")
	var mine []row
	for _, p := range written {
		rows, err := readJSONL(p)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].Source = "switchyard"
		}
		mine = append(mine, rows...)
	}

	seen := map[string]bool{}
	var out []row
	dropped := map[string]int{}
	for _, r := range append(train, mine...) {
		k := norm(r.Text)
		if p, ok := exclude[k]; ok {
			dropped[p]++
			continue
		}
		if seen[k] {
			dropped["duplicate"]++
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b row) int {
		if c := strings.Compare(a.Label, b.Label); c != 0 {
			return c
		}
		return strings.Compare(a.Text, b.Text)
	})
	f, err := os.Create("tasks/library.jsonl")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range out {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("library: %d rows (%d from llm_tasks train, %d written); dropped %v\n", len(out), len(train), len(mine), dropped)
	if !withVectors {
		return nil
	}

	lib, err := tasks.Load()
	if err != nil {
		return err
	}
	texts := ground.Texts(lib)
	m, ok := modelstore.Lookup(modelstore.MiniLMName)
	if !ok {
		return fmt.Errorf("no built-in model")
	}
	root := models
	if root == "" {
		if root, err = modelstore.Root(os.Getenv); err != nil {
			return err
		}
	}
	// One file per arithmetic the model runs with: fp32 on the best
	// level, int8 with the full code ranges (AVX-512 VNNI, and the portable
	// kernels) and int8 with the AVX2 kernel's narrower weights.
	for _, v := range []struct {
		level kernel.Level
		prec  kernel.Precision
	}{{kernel.Best(), kernel.FP32}, {kernel.AVX512, kernel.Int8}, {kernel.AVX2, kernel.Int8}} {
		if err := writeVectors(m, root, v.level, v.prec, texts); err != nil {
			return err
		}
	}
	return nil
}

// writeVectors embeds texts with the model at one level and precision and
// writes them where the binary ships that embedder's vectors.
func writeVectors(m modelstore.Manifest, root string, level kernel.Level, prec kernel.Precision, texts []string) error {
	ctx := context.Background()
	local, err := embed.NewLocal(ctx, m.Dir(root), m, embed.LocalOptions{Level: level, ForceLevel: true, Precision: prec})
	if err != nil {
		return fmt.Errorf("%s %s: %w", level, prec, err)
	}
	defer local.Close()
	name, ok := tasks.ShippedFile(local.ID())
	if !ok {
		return fmt.Errorf("%s %s: the binary ships no vectors for %s", level, prec, local.ID())
	}
	if upToDate(filepath.Join("tasks", name), local.ID(), texts) {
		fmt.Printf("%s: tasks/%s already holds every text\n", local.ID(), name)
		return nil
	}
	start := time.Now()
	vecs := map[tasks.Key][]float32{}
	const batch = 32
	for i := 0; i < len(texts); i += batch {
		part := texts[i:min(i+batch, len(texts))]
		got, err := local.Embed(ctx, part)
		if err != nil {
			return err
		}
		for j, v := range got {
			vecs[tasks.KeyOf(part[j])] = v
		}
		if i%(batch*20) == 0 {
			fmt.Printf("\r%s: embedded %d/%d (%s)", local.ID(), i+len(part), len(texts), time.Since(start).Round(time.Second))
		}
	}
	fmt.Println()
	vf, err := os.Create(filepath.Join("tasks", name))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(vf)
	if err := tasks.WriteVectors(bw, local.ID(), m.Dim, vecs); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := vf.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d texts in %s\n", local.ID(), len(vecs), time.Since(start).Round(time.Second))
	return nil
}

// upToDate reports whether the vector file at path is model's and holds
// every text.
func upToDate(path, model string, texts []string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	v, err := tasks.ReadVectors(bufio.NewReader(f))
	if err != nil || v.Model() != model {
		return false
	}
	for _, t := range texts {
		if _, ok := v.Get(t); !ok {
			return false
		}
	}
	return true
}
