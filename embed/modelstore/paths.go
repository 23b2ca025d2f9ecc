package modelstore

import (
	"errors"
	"path/filepath"
)

// Root returns the directory that holds one subdirectory per model:
// $SWITCHYARD_MODELS when set, else $XDG_CACHE_HOME/switchyard/models, else
// $HOME/.cache/switchyard/models. getenv is usually os.Getenv; a --models
// flag, handled by the caller, takes precedence over all of these.
func Root(getenv func(string) string) (string, error) {
	if dir := getenv("SWITCHYARD_MODELS"); dir != "" {
		return dir, nil
	}
	// The XDG spec says a relative XDG_CACHE_HOME is invalid and to be ignored.
	if cache := getenv("XDG_CACHE_HOME"); cache != "" && filepath.IsAbs(cache) {
		return filepath.Join(cache, "switchyard", "models"), nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "switchyard", "models"), nil
	}
	return "", errors.New("resolve models root: neither SWITCHYARD_MODELS, XDG_CACHE_HOME nor HOME is set")
}

// Dir returns the directory of model m under root.
func (m Manifest) Dir(root string) string {
	return filepath.Join(root, m.Name)
}
