package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	home := t.TempDir()
	masHome := t.TempDir() // a HOME with ~/.mas/config.json
	if err := os.MkdirAll(filepath.Join(masHome, ".mas"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(masHome, ".mas", "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	both := t.TempDir() // a HOME with both a switchyard config and a MAS one
	for _, p := range []string{filepath.Join(both, ".mas", "config.json"), filepath.Join(both, ".config", "switchyard", "config.yaml")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws := filepath.Join(home, "ws")

	tests := []struct {
		name string
		env  map[string]string
		want Layout
	}{
		{"xdg defaults under HOME", map[string]string{"HOME": home}, Layout{
			Config: filepath.Join(home, ".config/switchyard/config.yaml"), ConfigFrom: FromDefault,
			Data: filepath.Join(home, ".local/share/switchyard"), State: filepath.Join(home, ".local/state/switchyard"),
			Logs: filepath.Join(home, ".local/state/switchyard"), EnvFile: filepath.Join(home, ".config/switchyard/env"),
		}},
		{"xdg variables", map[string]string{"HOME": home, "XDG_CONFIG_HOME": "/c", "XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s"}, Layout{
			Config: "/c/switchyard/config.yaml", ConfigFrom: FromDefault, Data: "/d/switchyard", State: "/s/switchyard",
			Logs: "/s/switchyard", EnvFile: "/c/switchyard/env",
		}},
		{"relative xdg variables are ignored", map[string]string{"HOME": home, "XDG_DATA_HOME": "d", "XDG_STATE_HOME": "s"}, Layout{
			Config: filepath.Join(home, ".config/switchyard/config.yaml"), ConfigFrom: FromDefault,
			Data: filepath.Join(home, ".local/share/switchyard"), State: filepath.Join(home, ".local/state/switchyard"),
			Logs: filepath.Join(home, ".local/state/switchyard"), EnvFile: filepath.Join(home, ".config/switchyard/env"),
		}},
		{"workspace", map[string]string{"HOME": home, "XDG_DATA_HOME": "/d", EnvWorkspace: ws}, Layout{
			Dir: ws, Config: filepath.Join(ws, "config.yaml"), ConfigFrom: FromWorkspace, Data: filepath.Join(ws, "data"),
			State: ws, Logs: filepath.Join(ws, "logs"), EnvFile: filepath.Join(ws, "env"),
		}},
		{"ModelSwitch's variable", map[string]string{"HOME": home, "MODELSWITCH_WORKSPACE": "~/ws"}, Layout{
			Dir: ws, Config: filepath.Join(ws, "config.yaml"), ConfigFrom: FromWorkspace, Data: filepath.Join(ws, "data"),
			State: ws, Logs: filepath.Join(ws, "logs"), EnvFile: filepath.Join(ws, "env"),
		}},
		{"SWITCHYARD_CONFIG wins over the workspace", map[string]string{"HOME": home, EnvWorkspace: ws, "SWITCHYARD_CONFIG": "/etc/sy.yaml"}, Layout{
			Dir: ws, Config: "/etc/sy.yaml", ConfigFrom: FromEnv, Data: filepath.Join(ws, "data"),
			State: ws, Logs: filepath.Join(ws, "logs"), EnvFile: filepath.Join(ws, "env"),
		}},
		{"MAS_CONFIG_PATH", map[string]string{"HOME": home, "MAS_CONFIG_PATH": "~/mas.json"}, Layout{
			Config: filepath.Join(home, "mas.json"), ConfigFrom: FromMASEnv,
			Data: filepath.Join(home, ".local/share/switchyard"), State: filepath.Join(home, ".local/state/switchyard"),
			Logs: filepath.Join(home, ".local/state/switchyard"), EnvFile: filepath.Join(home, ".config/switchyard/env"),
		}},
		{"~/.mas/config.json when no switchyard config exists", map[string]string{"HOME": masHome}, Layout{
			Config: filepath.Join(masHome, ".mas/config.json"), ConfigFrom: FromMASHome,
			Data: filepath.Join(masHome, ".local/share/switchyard"), State: filepath.Join(masHome, ".local/state/switchyard"),
			Logs: filepath.Join(masHome, ".local/state/switchyard"), EnvFile: filepath.Join(masHome, ".config/switchyard/env"),
		}},
		{"a switchyard config wins over ~/.mas/config.json", map[string]string{"HOME": both}, Layout{
			Config: filepath.Join(both, ".config/switchyard/config.yaml"), ConfigFrom: FromDefault,
			Data: filepath.Join(both, ".local/share/switchyard"), State: filepath.Join(both, ".local/state/switchyard"),
			Logs: filepath.Join(both, ".local/state/switchyard"), EnvFile: filepath.Join(both, ".config/switchyard/env"),
		}},
		{"nothing", map[string]string{}, Layout{ConfigFrom: FromDefault}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("Resolve =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestFilesNeedAHome(t *testing.T) {
	l := Resolve(func(string) string { return "" })
	for name, f := range map[string]func() (string, error){
		"config": l.ConfigFile, "usage": l.UsageDB, "conversations": l.ConversationLog,
		"pid": l.PIDFile, "record": l.RecordFile, "log": l.LogFile,
	} {
		if p, err := f(); err == nil {
			t.Errorf("%s: %q with no HOME, want an error", name, p)
		}
	}
	l = Resolve(func(k string) string { return map[string]string{EnvWorkspace: "/ws"}[k] })
	got := []string{}
	for _, f := range []func() (string, error){l.ConfigFile, l.UsageDB, l.ConversationLog, l.PIDFile, l.RecordFile, l.LogFile} {
		p, err := f()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	want := []string{"/ws/config.yaml", "/ws/data/usage.db", "/ws/data/conversations.jsonl", "/ws/switchyard.pid", "/ws/switchyard.json", "/ws/logs/switchyard.log"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("file %d = %q, want %q", i, got[i], want[i])
		}
	}
}
