// Package embed turns text into unit-length vectors for routing. The default
// embedder, Local, runs all-MiniLM-L6-v2 inside this process (tokenizer,
// weights and SIMD kernels live in the sub-packages wordpiece, bert, kernel,
// safetensors and modelstore); other backends reach an embedding server.
package embed

import "context"

// Embedder is what every backend provides. Implementations are safe for
// concurrent use and return len(texts) vectors, in order.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// ID names the model; vectors from different IDs are not comparable.
	ID() string
	// Dim reports the vector length.
	Dim() int
}

var _ Embedder = (*Local)(nil)
