package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/proxy"
)

var _ proxy.ConfigEditor = (*Gateway)(nil)

// ConfigText implements proxy.ConfigEditor: the config file as it is on
// disk.
func (g *Gateway) ConfigText() (path string, text []byte, err error) {
	text, err = os.ReadFile(g.path)
	return g.path, text, err
}

// CheckConfig implements proxy.ConfigEditor: text loaded and validated as
// the config file would be (beside it, so relative paths mean the same),
// its problems placed at their lines.
func (g *Gateway) CheckConfig(ctx context.Context, text []byte) []proxy.ConfigProblem {
	f, err := os.CreateTemp(filepath.Dir(g.path), ".switchyard-check-*.yaml")
	if err != nil {
		return []proxy.ConfigProblem{{Message: err.Error()}}
	}
	defer os.Remove(f.Name())
	_, err = f.Write(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return []proxy.ConfigProblem{{Message: err.Error()}}
	}
	if _, err := config.Load(f.Name(), g.env.environ, g.flags); err != nil {
		return placed(text, config.Problems(err))
	}
	return nil
}

// placed is config.Place's problems as the admin API reports them.
func placed(text []byte, problems []string) []proxy.ConfigProblem {
	var out []proxy.ConfigProblem
	for _, p := range config.Place(text, problems) {
		out = append(out, proxy.ConfigProblem{Line: p.Line, Path: p.Path, Message: p.Message})
	}
	return out
}

// SaveConfig implements proxy.ConfigEditor: a text with no problems
// replaces the config file (atomically) and is reloaded through the
// normal path; if the reload fails, the previous file is put back, so an
// invalid edit changes nothing.
func (g *Gateway) SaveConfig(ctx context.Context, text []byte) (proxy.ReloadResult, []proxy.ConfigProblem, error) {
	if problems := g.CheckConfig(ctx, text); len(problems) > 0 {
		return proxy.ReloadResult{}, problems, nil
	}
	g.saveMu.Lock()
	defer g.saveMu.Unlock()
	old, err := os.ReadFile(g.path)
	if err != nil {
		return proxy.ReloadResult{}, nil, err
	}
	if err := writeAtomic(g.path, text); err != nil {
		return proxy.ReloadResult{}, nil, err
	}
	res, err := g.reload(ctx, triggerAdmin)
	if err != nil {
		if rerr := writeAtomic(g.path, old); rerr != nil {
			g.log.Error().Err(rerr).Msg("config: the previous file could not be put back")
		}
		return res, placed(text, res.Errors), nil
	}
	return res, nil, nil
}

// writeAtomic replaces path with data: a temporary file beside it,
// renamed over it, with path's permissions.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".switchyard-save-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
