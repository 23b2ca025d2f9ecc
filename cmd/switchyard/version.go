package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/embed/kernel"
)

func versionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the build and the SIMD path this CPU gets",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(e.stdout, versionLine())
		},
	}
}

// versionLine is what version (and --version) prints: the commit the
// binary was built from, Go's version, the platform and the SIMD kernels.
func versionLine() string {
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	return fmt.Sprintf("switchyard %s (%s, %s/%s), kernels: %s", rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel.Best())
}
