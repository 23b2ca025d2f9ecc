package service

import (
	"strings"
	"testing"
)

func TestSystemdQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/switchyard": `"/usr/bin/switchyard"`,
		`/a b/"c"\d`:          `"/a b/\"c\"\\d"`,
		"/100%/$HOME":         `"/100%%/$$HOME"`,
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestUnknownManager(t *testing.T) {
	if _, err := File("upstart", Spec{}); err == nil || !strings.Contains(err.Error(), "systemd or launchd") {
		t.Errorf("err = %v", err)
	}
}
