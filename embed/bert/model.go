// Package bert owns the forward pass of a BERT sentence encoder with mean
// pooling and L2 normalisation, as sentence-transformers runs
// all-MiniLM-L6-v2: token, position and type embeddings, LayerNorm, N
// encoder layers (self-attention, feed-forward with exact GELU), then the
// mean of the last hidden states over the real tokens.
//
// Weights are read from a safetensors file; embedding tables stay views of
// the memory-mapped file and the linear layers are repacked once for the
// SIMD kernels, as float32 or, at int8 precision, quantized per output
// column (attention, LayerNorm, GELU and pooling stay float32 either way).
package bert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/safetensors"
)

// Config holds the architecture facts from a model's config.json.
type Config struct {
	Hidden        int     `json:"hidden_size"`
	Layers        int     `json:"num_hidden_layers"`
	Heads         int     `json:"num_attention_heads"`
	Intermediate  int     `json:"intermediate_size"`
	VocabSize     int     `json:"vocab_size"`
	MaxPositions  int     `json:"max_position_embeddings"`
	TypeVocabSize int     `json:"type_vocab_size"`
	LayerNormEps  float64 `json:"layer_norm_eps"`
	HiddenAct     string  `json:"hidden_act"`
	ModelType     string  `json:"model_type"`
	PositionType  string  `json:"position_embedding_type"`
}

// ReadConfig reads and checks config.json.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("bert: read config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("bert: parse %s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	return c, nil
}

func (c Config) check() error {
	switch {
	case c.ModelType != "" && c.ModelType != "bert":
		return fmt.Errorf("model_type %q is not bert", c.ModelType)
	case c.HiddenAct != "gelu":
		// "gelu" in transformers is the exact erf form, which is what the
		// kernel computes; tanh approximations would drift.
		return fmt.Errorf("hidden_act %q is not supported (want gelu)", c.HiddenAct)
	case c.PositionType != "" && c.PositionType != "absolute":
		return fmt.Errorf("position_embedding_type %q is not supported", c.PositionType)
	case c.Hidden <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0 ||
		c.VocabSize <= 0 || c.MaxPositions <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("sizes must be positive: %+v", c)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.Hidden, c.Heads)
	}
	return nil
}

// Model is a loaded encoder. It is immutable after Load and safe for
// concurrent use; Close releases the mapped weights.
type Model struct {
	cfg    Config
	k      *kernel.Kernels
	file   *safetensors.File
	word   []float32 // [vocab x hidden], a view of the file
	pos    []float32 // [maxPositions x hidden]
	typ    []float32 // [typeVocab x hidden]; only type 0 is used
	lnG    []float32
	lnB    []float32
	eps    float32
	layers []layer
	prec   kernel.Precision
	maxSeq int
	spaces workspacePool
}

type layer struct {
	qkv, attnOut, inter, out linear
	ln1G, ln1B, ln2G, ln2B   []float32
}

// linear is one linear layer's weights, packed at the model's precision
// (exactly one of f and q is set), and its bias.
type linear struct {
	f    *kernel.Packed
	q    *kernel.PackedInt8
	bias []float32
}

// Load reads config.json and model.safetensors from dir. maxSeq bounds the
// tokens per sequence (sentence-transformers uses 256 for this model; it may
// not exceed the position table). prec chooses the arithmetic of the
// linear layers.
func Load(dir string, maxSeq int, k *kernel.Kernels, prec kernel.Precision) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if maxSeq <= 0 || maxSeq > cfg.MaxPositions {
		return nil, fmt.Errorf("bert: max sequence %d outside 1..%d", maxSeq, cfg.MaxPositions)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	m, err := build(cfg, f, maxSeq, k, prec)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bert: %w", err)
	}
	return m, nil
}

func build(cfg Config, f *safetensors.File, maxSeq int, k *kernel.Kernels, prec kernel.Precision) (*Model, error) {
	prec = prec.Resolve(k.Level())
	if prec != kernel.FP32 && prec != kernel.Int8 {
		return nil, fmt.Errorf("unknown precision %v", prec)
	}
	h, in := cfg.Hidden, cfg.Intermediate
	m := &Model{cfg: cfg, k: k, file: f, eps: float32(cfg.LayerNormEps), prec: prec, maxSeq: maxSeq}
	var errs []error
	get := func(name string, shape ...int) []float32 {
		t, err := f.Float32(prefixed(f, name), shape...)
		if err != nil {
			errs = append(errs, err)
		}
		return t
	}
	m.word = get("embeddings.word_embeddings.weight", cfg.VocabSize, h)
	m.pos = get("embeddings.position_embeddings.weight", cfg.MaxPositions, h)
	m.typ = get("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, h)
	m.lnG = get("embeddings.LayerNorm.weight", h)
	m.lnB = get("embeddings.LayerNorm.bias", h)
	// pack copies a linear layer's weights into the kernel layout and then
	// drops the original pages: they are never read again, and keeping both
	// would double the resident weights.
	pack := func(names []string, bias []float32, n, kk int) linear {
		l := linear{bias: bias}
		w := make([]float32, 0, n*kk)
		for _, name := range names {
			w = append(w, get(name, n/len(names), kk)...)
		}
		if len(w) != n*kk {
			return l
		}
		if prec == kernel.Int8 {
			l.q = k.PackInt8(w, n, kk)
		} else {
			l.f = k.Pack(w, n, kk)
		}
		for _, name := range names {
			f.Release(prefixed(f, name))
		}
		return l
	}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		var l layer
		// Query, key and value share their input, so they run as one
		// [3h x h] product: one pass over the activations instead of three.
		qkvBias := append(append(append([]float32(nil),
			get(p+"attention.self.query.bias", h)...),
			get(p+"attention.self.key.bias", h)...),
			get(p+"attention.self.value.bias", h)...)
		l.qkv = pack([]string{p + "attention.self.query.weight", p + "attention.self.key.weight", p + "attention.self.value.weight"}, qkvBias, 3*h, h)
		l.attnOut = pack([]string{p + "attention.output.dense.weight"}, get(p+"attention.output.dense.bias", h), h, h)
		l.ln1G = get(p+"attention.output.LayerNorm.weight", h)
		l.ln1B = get(p+"attention.output.LayerNorm.bias", h)
		l.inter = pack([]string{p + "intermediate.dense.weight"}, get(p+"intermediate.dense.bias", in), in, h)
		l.out = pack([]string{p + "output.dense.weight"}, get(p+"output.dense.bias", h), h, in)
		l.ln2G = get(p+"output.LayerNorm.weight", h)
		l.ln2B = get(p+"output.LayerNorm.bias", h)
		m.layers = append(m.layers, l)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("weights: %w", errors.Join(errs...))
	}
	return m, nil
}

// prefixed accepts checkpoints saved from BertModel ("embeddings.…") and
// from a wrapping model ("bert.embeddings.…").
func prefixed(f *safetensors.File, name string) string {
	if _, ok := f.Info(name); ok {
		return name
	}
	if _, ok := f.Info("bert." + name); ok {
		return "bert." + name
	}
	return name
}

// Config reports the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// MaxSeq reports the most tokens one sequence may hold.
func (m *Model) MaxSeq() int { return m.maxSeq }

// Dim reports the embedding dimension.
func (m *Model) Dim() int { return m.cfg.Hidden }

// Kernels reports the SIMD path the model runs on.
func (m *Model) Kernels() *kernel.Kernels { return m.k }

// Precision reports the arithmetic of the linear layers.
func (m *Model) Precision() kernel.Precision { return m.prec }

// Close releases the mapped weights. The Model must not be used afterwards.
func (m *Model) Close() error { return m.file.Close() }
