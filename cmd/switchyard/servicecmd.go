package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/service"
	"github.com/switchyard-router/switchyard/workspace"
)

// serviceFlags are the service sub-commands' flags.
type serviceFlags struct {
	cf      configFlags
	target  string
	print   bool
	noStart bool
}

func serviceCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Install switchyard as a user service (systemd user unit, launchd agent)",
		Long: "service install writes a systemd user unit (~/.config/systemd/user/switchyard.service)\n" +
			"on Linux, or a launchd agent (~/Library/LaunchAgents/" + service.Label + ".plist) on\n" +
			"macOS, that runs `switchyard serve` with this binary and the resolved config\n" +
			"(absolute paths), restarts it when it fails, and reads provider keys from the\n" +
			"env file (KEY=value lines; ~/.config/switchyard/env, or DIR/env in a workspace).\n" +
			"It then loads and starts it (systemctl --user daemon-reload and enable --now;\n" +
			"launchctl bootstrap) when the service manager is reachable, else prints the\n" +
			"commands to run. uninstall reverses it; print writes the file to stdout.",
	}
	var sf serviceFlags
	register := func(c *cobra.Command) {
		sf.cf.register(c)
		c.Flags().StringVar(&sf.target, "target", "", "service manager: systemd or launchd (default: launchd on macOS, systemd elsewhere)")
	}
	install := &cobra.Command{
		Use:   "install [--config F] [--target systemd|launchd] [--print] [--no-start]",
		Short: "Write the service file, then load and start it",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return installService(cmd, e, &sf) },
	}
	register(install)
	install.Flags().BoolVar(&sf.print, "print", false, "print the file instead of writing it (a dry run)")
	install.Flags().BoolVar(&sf.noStart, "no-start", false, "write the file only; print the commands that would load it")
	print := &cobra.Command{
		Use:   "print [--config F] [--target systemd|launchd]",
		Short: "Print the service file install would write",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sf.print = true
			return installService(cmd, e, &sf)
		},
	}
	register(print)
	uninstall := &cobra.Command{
		Use:   "uninstall [--target systemd|launchd] [--no-start]",
		Short: "Stop and unload the service, and remove its file",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return uninstallService(e, &sf) },
	}
	uninstall.Flags().StringVar(&sf.target, "target", "", "service manager: systemd or launchd (default: launchd on macOS, systemd elsewhere)")
	uninstall.Flags().BoolVar(&sf.noStart, "no-start", false, "remove the file only; print the commands that would unload it")
	cmd.AddCommand(install, print, uninstall)
	return cmd
}

func (sf *serviceFlags) manager() (string, error) {
	switch sf.target {
	case "":
		return service.ForGOOS(runtime.GOOS), nil
	case service.Systemd, service.Launchd:
		return sf.target, nil
	}
	return "", fmt.Errorf("--target %q: want %s or %s", sf.target, service.Systemd, service.Launchd)
}

func installService(cmd *cobra.Command, e env, sf *serviceFlags) error {
	manager, err := sf.manager()
	if err != nil {
		return err
	}
	home := e.getenv("HOME")
	if home == "" {
		return errors.New("HOME is not set: the service file goes under it")
	}
	path, from, err := sf.cf.resolveFrom(e)
	if err != nil {
		return err
	}
	if !sf.print {
		if err := firstRun(e, path, from); err != nil {
			return err
		}
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	l := workspace.Resolve(e.getenv)
	spec := service.Spec{Exe: exe, Args: []string{"serve", "--config", path}, EnvFile: l.EnvFile}
	if l.Dir != "" {
		spec.Args = append(spec.Args, "--workspace", l.Dir)
	}
	if sf.cf.models != "" {
		m, err := filepath.Abs(sf.cf.models)
		if err != nil {
			return err
		}
		spec.Args = append(spec.Args, "--models", m)
	}
	grace := config.Default().Server.ShutdownGrace
	sf.cf.path = path
	if cfg, _, err := sf.cf.load(cmd, e); err == nil {
		grace = cfg.Server.ShutdownGrace
	}
	spec.StopTimeout = grace + stopMargin
	if manager == service.Launchd && l.Logs != "" {
		spec.Log = filepath.Join(l.Logs, "service.log")
	}
	text, err := service.File(manager, spec)
	if err != nil {
		return err
	}
	if sf.print {
		_, err := e.stdout.Write(text)
		return err
	}
	file := service.Path(manager, home)
	for _, dir := range []string{filepath.Dir(file), filepath.Dir(spec.Log)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(file, text, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", file)
	return runManager(e, manager, sf.noStart, service.InstallCommands(manager, file, os.Getuid()))
}

func uninstallService(e env, sf *serviceFlags) error {
	manager, err := sf.manager()
	if err != nil {
		return err
	}
	home := e.getenv("HOME")
	if home == "" {
		return errors.New("HOME is not set: the service file is under it")
	}
	file := service.Path(manager, home)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stdout, "no service installed (%s does not exist)\n", file)
		return nil
	}
	if err := runManager(e, manager, sf.noStart, service.UninstallCommands(manager, os.Getuid())); err != nil {
		return err
	}
	if err := os.Remove(file); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s\n", file)
	return runManager(e, manager, sf.noStart, service.AfterUninstall(manager))
}

// runManager runs the service manager's commands, or prints them when
// told not to run them or when the manager cannot be reached (no
// systemctl, or no user bus, as in a container or an ssh session
// without lingering).
func runManager(e env, manager string, dontRun bool, cmds [][]string) error {
	if len(cmds) == 0 {
		return nil
	}
	bin, found := lookPath(e.getenv("PATH"), cmds[0][0])
	reason := ""
	switch {
	case dontRun:
		reason = "--no-start"
	case !found:
		reason = cmds[0][0] + " is not on PATH"
	case manager == service.Systemd:
		probe := exec.Command(bin, "--user", "show-environment")
		probe.Env = e.environ()
		if err := probe.Run(); err != nil {
			reason = "the systemd user manager is not reachable (systemctl --user show-environment failed)"
		}
	}
	if reason != "" {
		fmt.Fprintf(e.stdout, "not run (%s); to apply it, run:\n", reason)
		for _, c := range cmds {
			fmt.Fprintf(e.stdout, "  %s\n", strings.Join(c, " "))
		}
		return nil
	}
	for _, c := range cmds {
		fmt.Fprintf(e.stdout, "$ %s\n", strings.Join(c, " "))
		run := exec.Command(bin, c[1:]...)
		run.Env = e.environ()
		run.Stdout, run.Stderr = e.stdout, e.stderr
		if err := run.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(c, " "), err)
		}
	}
	return nil
}

// lookPath finds name in path (a $PATH value), so that the injected
// environment, not the process's, decides.
func lookPath(path, name string) (string, bool) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}
