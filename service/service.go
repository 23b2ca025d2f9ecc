// Package service writes the files that make switchyard a per-user
// service of the operating system's service manager: a systemd user
// unit on Linux, a launchd agent on macOS. It generates text and names
// the commands that load it; running them is the caller's.
package service

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The service managers.
const (
	Systemd = "systemd"
	Launchd = "launchd"
)

// Label is the launchd label, and Unit the systemd unit's name.
const (
	Label = "dev.switchyard"
	Unit  = "switchyard.service"
)

// ForGOOS is the service manager of an operating system: launchd on
// macOS, systemd elsewhere.
func ForGOOS(goos string) string {
	if goos == "darwin" {
		return Launchd
	}
	return Systemd
}

// Spec is what the service runs.
type Spec struct {
	// Exe is the switchyard binary, absolute.
	Exe string
	// Args follow Exe: serve and its flags (absolute paths).
	Args []string
	// EnvFile is a KEY=value file of provider keys, read if it exists.
	EnvFile string
	// Log is the file launchd appends the server's output to (systemd
	// sends it to the journal).
	Log string
	// StopTimeout is how long the manager waits after SIGTERM before it
	// kills the server: server.shutdown_grace plus a margin.
	StopTimeout time.Duration
}

// Path is where the file for manager lives under home.
func Path(manager, home string) string {
	if manager == Launchd {
		return filepath.Join(home, "Library", "LaunchAgents", Label+".plist")
	}
	return filepath.Join(home, ".config", "systemd", "user", Unit)
}

// File is the text of the file for manager.
func File(manager string, s Spec) ([]byte, error) {
	switch manager {
	case Systemd:
		return systemdUnit(s), nil
	case Launchd:
		return launchdPlist(s)
	}
	return nil, fmt.Errorf("unknown service manager %q (want %s or %s)", manager, Systemd, Launchd)
}

// InstallCommands load and start the installed file; UninstallCommands
// stop and unload it (before the file is removed). uid is the user's,
// for launchd's domain.
func InstallCommands(manager, file string, uid int) [][]string {
	if manager == Launchd {
		return [][]string{{"launchctl", "bootstrap", "gui/" + strconv.Itoa(uid), file}}
	}
	return [][]string{{"systemctl", "--user", "daemon-reload"}, {"systemctl", "--user", "enable", "--now", Unit}}
}

// UninstallCommands: see InstallCommands.
func UninstallCommands(manager string, uid int) [][]string {
	if manager == Launchd {
		return [][]string{{"launchctl", "bootout", "gui/" + strconv.Itoa(uid) + "/" + Label}}
	}
	return [][]string{{"systemctl", "--user", "disable", "--now", Unit}}
}

// AfterUninstall run once the file is gone.
func AfterUninstall(manager string) [][]string {
	if manager == Launchd {
		return nil
	}
	return [][]string{{"systemctl", "--user", "daemon-reload"}}
}

func systemdUnit(s Spec) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by `switchyard service install`; `switchyard service uninstall` removes it.")
	w("[Unit]")
	w("Description=switchyard, a semantic LLM router")
	w("Documentation=https://github.com/switchyard-router/switchyard")
	w("")
	w("[Service]")
	w("Type=exec")
	args := []string{systemdQuote(s.Exe)}
	for _, a := range s.Args {
		args = append(args, systemdQuote(a))
	}
	w("ExecStart=%s", strings.Join(args, " "))
	w("ExecReload=/bin/kill -HUP $MAINPID")
	if s.EnvFile != "" {
		w("# Provider keys, one KEY=value a line (OPENAI_API_KEY=sk-...); optional.")
		w("EnvironmentFile=-%s", escapeSpecifiers(s.EnvFile))
	}
	w("Restart=on-failure")
	w("RestartSec=2s")
	if s.StopTimeout > 0 {
		w("TimeoutStopSec=%ds", int(s.StopTimeout.Round(time.Second)/time.Second))
	}
	w("# Hardening that a user manager can apply (no mount namespaces).")
	w("NoNewPrivileges=yes")
	w("LockPersonality=yes")
	w("RestrictRealtime=yes")
	w("RestrictSUIDSGID=yes")
	w("RestrictNamespaces=yes")
	w("SystemCallArchitectures=native")
	w("MemoryDenyWriteExecute=yes")
	w("UMask=0077")
	w("")
	w("[Install]")
	w("WantedBy=default.target")
	return b.Bytes()
}

// systemdQuote quotes one ExecStart word: double quotes with C escapes,
// and "%" and "$" doubled so that systemd expands neither.
func systemdQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '%':
			b.WriteString("%%")
		case '$':
			b.WriteString("$$")
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// launchdPlist runs switchyard through /bin/sh so that the same env file
// as systemd's supplies the provider keys: launchd has no such setting.
func launchdPlist(s Spec) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<!-- Written by `switchyard service install`; `switchyard service uninstall` removes it. -->\n")
	b.WriteString(`<plist version="1.0">` + "\n<dict>\n")
	key := func(k string) { fmt.Fprintf(&b, "\t<key>%s</key>\n", k) }
	str := func(indent, v string) error {
		b.WriteString(indent + "<string>")
		if err := xml.EscapeText(&b, []byte(v)); err != nil {
			return err
		}
		b.WriteString("</string>\n")
		return nil
	}
	key("Label")
	str("\t", Label)
	key("ProgramArguments")
	b.WriteString("\t<array>\n")
	argv := []string{s.Exe}
	if s.EnvFile != "" {
		// $0 is the env file, "$@" switchyard and its arguments.
		argv = []string{"/bin/sh", "-c", `if [ -f "$0" ]; then set -a; . "$0"; set +a; fi; exec "$@"`, s.EnvFile, s.Exe}
	}
	for _, a := range append(argv, s.Args...) {
		if err := str("\t\t", a); err != nil {
			return nil, err
		}
	}
	b.WriteString("\t</array>\n")
	key("RunAtLoad")
	b.WriteString("\t<true/>\n")
	key("KeepAlive")
	b.WriteString("\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	if s.StopTimeout > 0 {
		key("ExitTimeOut")
		fmt.Fprintf(&b, "\t<integer>%d</integer>\n", int(s.StopTimeout.Round(time.Second)/time.Second))
	}
	if s.Log != "" {
		for _, k := range []string{"StandardOutPath", "StandardErrorPath"} {
			key(k)
			if err := str("\t", s.Log); err != nil {
				return nil, err
			}
		}
	}
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes(), nil
}
