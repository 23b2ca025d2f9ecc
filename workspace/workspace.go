// Package workspace decides where switchyard keeps its files: the config
// file, the data (the usage store, which holds the key store, and the
// conversation log), the background server's pid file and log, and the
// installed service's environment file. It is the one place that reads
// the variables naming them (SWITCHYARD_WORKSPACE, SWITCHYARD_CONFIG,
// MAS_CONFIG_PATH, the XDG base directories, HOME).
//
// Without a workspace the XDG base directories are used:
//
//	config   $XDG_CONFIG_HOME/switchyard/config.yaml  (~/.config/…)
//	env file $XDG_CONFIG_HOME/switchyard/env
//	data     $XDG_DATA_HOME/switchyard/               (~/.local/share/…)
//	state    $XDG_STATE_HOME/switchyard/              (~/.local/state/…): pid file and log
//
// With a workspace DIR (ModelSwitch's habit) everything is under DIR:
// DIR/config.yaml, DIR/env, DIR/data/, DIR/logs/switchyard.log and
// DIR/switchyard.pid.
package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// The variables the layout is read from.
const (
	// EnvWorkspace names the workspace directory (the --workspace flag
	// sets it for the commands it runs).
	EnvWorkspace = "SWITCHYARD_WORKSPACE"
	// envModelSwitch is ModelSwitch's name for its workspace, read when
	// EnvWorkspace is unset so that a ModelSwitch setup keeps working.
	envModelSwitch = "MODELSWITCH_WORKSPACE"
	envConfig      = "SWITCHYARD_CONFIG"
	// envMASConfig is MAS's variable for its config file.
	envMASConfig = "MAS_CONFIG_PATH"
)

// Where the config file came from, as Layout.ConfigFrom says it.
const (
	FromFlag      = "--config"
	FromEnv       = "$" + envConfig
	FromWorkspace = "workspace"
	FromMASEnv    = "$" + envMASConfig
	FromMASHome   = "~/.mas/config.json"
	FromDefault   = "default"
)

// Layout is where the files are. A directory that cannot be decided (no
// HOME and no XDG variable) is "": the accessors say what to set.
type Layout struct {
	// Dir is the workspace directory, absolute; "" when there is none.
	Dir string
	// Config is the config file; it may not exist yet (serve writes an
	// example there). "" when it cannot be decided.
	Config string
	// ConfigFrom says what chose Config: one of the From constants.
	ConfigFrom string
	// Data holds usage.db (and the key store in it) and
	// conversations.jsonl.
	Data string
	// State holds the background server's pid file and record.
	State string
	// Logs holds the background server's log.
	Logs string
	// EnvFile is the KEY=value file the installed service reads
	// provider keys from.
	EnvFile string
}

// Resolve reads the layout from the environment getenv gives.
//
// The config file is, in order: $SWITCHYARD_CONFIG; the workspace's
// config.yaml; $MAS_CONFIG_PATH (MAS's variable); the XDG config file
// if it exists; ~/.mas/config.json if it exists (MAS's default, used
// only when no switchyard config exists); else the XDG config file,
// which serve creates. A --config flag, which the caller handles, comes
// before all of them.
func Resolve(getenv func(string) string) Layout {
	home := getenv("HOME")
	ws := getenv(EnvWorkspace)
	if ws == "" {
		ws = getenv(envModelSwitch)
	}
	var l Layout
	if ws != "" {
		if abs, err := filepath.Abs(expandHome(ws, home)); err == nil {
			ws = abs
		}
		l = Layout{
			Dir:     ws,
			Config:  filepath.Join(ws, "config.yaml"),
			Data:    filepath.Join(ws, "data"),
			State:   ws,
			Logs:    filepath.Join(ws, "logs"),
			EnvFile: filepath.Join(ws, "env"),
		}
		l.ConfigFrom = FromWorkspace
	} else {
		configDir := xdg(getenv, "XDG_CONFIG_HOME", home, ".config")
		l = Layout{
			Data:  xdg(getenv, "XDG_DATA_HOME", home, filepath.Join(".local", "share")),
			State: xdg(getenv, "XDG_STATE_HOME", home, filepath.Join(".local", "state")),
		}
		l.Logs = l.State
		if configDir != "" {
			l.Config = filepath.Join(configDir, "config.yaml")
			l.EnvFile = filepath.Join(configDir, "env")
		}
		l.ConfigFrom = FromDefault
	}
	switch mas := getenv(envMASConfig); {
	case getenv(envConfig) != "":
		l.Config, l.ConfigFrom = getenv(envConfig), FromEnv
	case l.Dir != "":
	case mas != "":
		l.Config, l.ConfigFrom = expandHome(mas, home), FromMASEnv
	case l.Config != "" && exists(l.Config):
	case home != "" && exists(filepath.Join(home, ".mas", "config.json")):
		l.Config, l.ConfigFrom = filepath.Join(home, ".mas", "config.json"), FromMASHome
	}
	return l
}

// ConfigFile is the config file, or an error saying how to name one.
func (l Layout) ConfigFile() (string, error) {
	if l.Config == "" {
		return "", errors.New("no config path: set SWITCHYARD_CONFIG, SWITCHYARD_WORKSPACE, XDG_CONFIG_HOME or HOME, or pass --config")
	}
	return l.Config, nil
}

// UsageDB is the usage store's SQLite file.
func (l Layout) UsageDB() (string, error) { return l.file(l.Data, "XDG_DATA_HOME", "usage.db") }

// ConversationLog is the conversation log's file.
func (l Layout) ConversationLog() (string, error) {
	return l.file(l.Data, "XDG_DATA_HOME", "conversations.jsonl")
}

// PIDFile is the background server's pid file.
func (l Layout) PIDFile() (string, error) { return l.file(l.State, "XDG_STATE_HOME", "switchyard.pid") }

// RecordFile is the background server's record (its URL, log, config
// and start time), beside the pid file.
func (l Layout) RecordFile() (string, error) {
	return l.file(l.State, "XDG_STATE_HOME", "switchyard.json")
}

// LogFile is the background server's log.
func (l Layout) LogFile() (string, error) { return l.file(l.Logs, "XDG_STATE_HOME", "switchyard.log") }

func (l Layout) file(dir, variable, name string) (string, error) {
	if dir == "" {
		return "", errors.New(variable + " and HOME are unset: set one of them, or SWITCHYARD_WORKSPACE")
	}
	return filepath.Join(dir, name), nil
}

// xdg is $variable/switchyard, else home/fallback/switchyard. The XDG
// spec says a relative value is invalid and to be ignored.
func xdg(getenv func(string) string, variable, home, fallback string) string {
	if d := getenv(variable); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "switchyard")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, fallback, "switchyard")
}

// expandHome expands a leading "~/", as a shell would have: MAS users
// write MAS_CONFIG_PATH=~/.mas/config.json in files no shell reads.
func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, p[1:])
	}
	return p
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
