package eval

import (
	"strings"
	"testing"
	"time"
)

func TestWriteHTML(t *testing.T) {
	rep := Measure(handMade(), []string{"code", "creative", "chat"}, "chat",
		[]RouteInfo{{"code", 0.4}, {"creative", 0.35}})
	rep.Outcomes[2].Text = `<script>alert(1)</script>` // misrouted, so listed
	rep = Measure(rep.Outcomes, []string{"code", "creative", "chat"}, "chat", rep.Routes)
	var b strings.Builder
	if err := WriteHTML(&b, rep, "report", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if n := strings.Count(html, "<svg"); n != 3 { // the matrix and two histograms
		t.Errorf("%d <svg> elements, want 3", n)
	}
	for _, bad := range []string{"<script", "src=", "href=", "<link"} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains %q: not self-contained or not escaped", bad)
		}
	}
	for _, want := range []string{"code", "creative", "oos", "stroke-dasharray", "0.601", "&lt;script&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
