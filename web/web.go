// Package web holds switchyard's HTML templates, compiled into the binary
// so a report is one self-contained file: no external scripts, styles or
// fonts, and charts drawn as inline SVG by the caller's data.
package web

import (
	"embed"
	"html/template"
	"strconv"
)

//go:embed *.html.tmpl
var files embed.FS

// ReportTemplate returns a fresh parse of the routing-quality report
// (report.html.tmpl). Its data is documented at the top of the template;
// router/eval supplies it.
func ReportTemplate() (*template.Template, error) {
	return template.New("report.html.tmpl").Funcs(template.FuncMap{
		"f3": func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) },
	}).ParseFS(files, "report.html.tmpl")
}
