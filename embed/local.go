package embed

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/switchyard-router/switchyard/embed/bert"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/embed/wordpiece"
)

// LocalOptions tunes the in-process model. The zero value is the default.
type LocalOptions struct {
	// Threads bounds the cores the model uses at once, across all
	// concurrent Embed calls. 0 means runtime.GOMAXPROCS(0).
	Threads int
	// Level forces a SIMD path; 0 (kernel.Generic) is only taken when
	// ForceLevel is set, otherwise the fastest the CPU supports is used.
	Level      kernel.Level
	ForceLevel bool
	// BatchTokens bounds the tokens in one forward pass, and so the
	// activation memory (about 22 KB a token). 0 means 2048.
	BatchTokens int
	// Precision is the arithmetic of the model's linear layers. The zero
	// value, kernel.FP32, reproduces sentence-transformers; kernel.Int8
	// quantizes them (2.5 to 4.5x faster on AVX-512 VNNI, 1.6 to 4x on
	// AVX2, with a quarter of the weight memory) at a small cost in
	// accuracy, and gives the embedder another ID, so the two never share
	// cached vectors; kernel.Auto is int8 on the SIMD levels.
	Precision kernel.Precision
}

// Local embeds text with a BERT sentence encoder running in this process.
// It is safe for concurrent use.
type Local struct {
	id      string
	tok     *wordpiece.Tokenizer
	model   *bert.Model
	threads int
	batch   int
	q       queue
}

// NewLocal loads the model installed in dir, after checking every file
// against the manifest's pinned hashes. The hashes are checked while the
// weights are being packed, so verification adds little to start-up.
func NewLocal(ctx context.Context, dir string, m modelstore.Manifest, opts LocalOptions) (*Local, error) {
	level := kernel.Best()
	if opts.ForceLevel {
		level = opts.Level
	}
	k, err := kernel.New(level)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	opts.Precision = opts.Precision.Resolve(level)
	verified := make(chan error, 1)
	go func() {
		rep, err := modelstore.Verify(ctx, dir, m)
		if err == nil {
			err = rep.Err()
		}
		verified <- err
	}()
	tok, tokErr := wordpiece.Load(filepath.Join(dir, "tokenizer.json"))
	var model *bert.Model
	if tokErr == nil {
		model, tokErr = bert.Load(dir, m.MaxSeqLen, k, opts.Precision)
	}
	// A failed verification explains a failed load better than the load's
	// own error (a truncated file is first a hash mismatch), so it wins.
	if err := <-verified; err != nil {
		if model != nil {
			model.Close()
		}
		return nil, fmt.Errorf("embed: %w", err)
	}
	if tokErr != nil {
		return nil, fmt.Errorf("embed: load %s: %w", m.Name, tokErr)
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	batch := opts.BatchTokens
	if batch <= 0 {
		batch = 2048
	}
	batch = max(batch, model.MaxSeq())
	// fp32 keeps the plain name: vectors shipped and cached under it were
	// made at fp32.
	id := "local:" + m.Name
	if opts.Precision == kernel.Int8 {
		id += "+" + k.Int8Name()
	}
	l := &Local{
		id:      id,
		tok:     tok,
		model:   model,
		threads: threads,
		batch:   batch,
	}
	l.q.idle = threads
	return l, nil
}

// ID names the embedder for caches: embeddings from different IDs are not
// comparable. It names the model and, unless it is fp32, the precision
// (with the int8 code ranges, which depend on the CPU).
func (l *Local) ID() string { return l.id }

// Dim reports the length of the vectors.
func (l *Local) Dim() int { return l.model.Dim() }

// Level reports the SIMD path in use.
func (l *Local) Level() kernel.Level { return l.model.Kernels().Level() }

// Precision reports the arithmetic of the linear layers.
func (l *Local) Precision() kernel.Precision { return l.model.Precision() }

// Tokens returns the token ids the model sees for text, after truncation.
func (l *Local) Tokens(text string) []int32 { return l.tok.Encode(text, l.model.MaxSeq()) }

// Close releases the model's memory. l must not be used afterwards.
func (l *Local) Close() error { return l.model.Close() }

// Embed returns one unit-length vector per text, in order. Texts longer
// than the model's limit are truncated, never refused; an empty text embeds
// as [CLS] [SEP], as in sentence-transformers.
//
// Scheduling (queue.go): each forward pass holds one core. A batch is
// split into at least as many groups as there are cores, so two cores
// embed two halves side by side; a lone text on an idle model borrows the
// idle cores for its matrix products; texts of concurrent calls that wait
// for a core share the next pass.
func (l *Local) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = l.tok.Encode(t, l.model.MaxSeq())
	}
	return l.embedGroups(ctx, split(seqs, l.batch, min(l.threads, len(seqs))))
}

// split cuts seqs into contiguous groups of at most budget tokens, and into
// at least minGroups groups of balanced token counts.
func split(seqs [][]int32, budget, minGroups int) [][][]int32 {
	total := 0
	for _, s := range seqs {
		total += len(s)
	}
	n := max(minGroups, (total+budget-1)/budget, 1)
	target := (total + n - 1) / n
	var groups [][][]int32
	start, acc := 0, 0
	for i, s := range seqs {
		if i > start && (acc+len(s) > budget || (acc >= target && len(groups) < n-1)) {
			groups = append(groups, seqs[start:i])
			start, acc = i, 0
		}
		acc += len(s)
	}
	return append(groups, seqs[start:])
}
