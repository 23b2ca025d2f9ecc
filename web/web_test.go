package web

import "testing"

func TestReportTemplateParses(t *testing.T) {
	tmpl, err := ReportTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Lookup("report.html.tmpl") == nil {
		t.Fatal("report.html.tmpl not defined")
	}
}
