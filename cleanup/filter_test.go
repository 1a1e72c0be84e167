package cleanup

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
)

// TestContentFilter checks which content filter a message gets: the
// "filter" attribute qmgr routes by.
func TestContentFilter(t *testing.T) {
	const scan = "smtp:[127.0.0.1]:10025"
	withAttrs := func(o *proto.CleanupOpen, kv ...string) *proto.CleanupOpen {
		for i := 0; i+1 < len(kv); i += 2 {
			o.Attrs = append(o.Attrs, proto.Attr{Name: kv[i], Value: kv[i+1]})
		}
		return o
	}
	smtp := func(kv ...string) *proto.CleanupOpen {
		return withAttrs(smtpOpen("192.0.2.7", "alice@client.example.test", "bob@mx.example.test"), kv...)
	}
	from := func(source string, kv ...string) *proto.CleanupOpen {
		o := smtp(kv...)
		o.Source = source
		return o
	}
	cases := []struct {
		name          string
		contentFilter string // cleanup's content_filter
		headerChecks  string
		open          *proto.CleanupOpen
		want          string // the filter attribute ("" = none)
		log           string // a log fragment
	}{
		{"content_filter", scan, "", smtp(), scan, ""},
		{"none", "", "", smtp(), "", ""},
		{"access table FILTER wins", scan, "", smtp("filter", "av:[10.0.0.1]"), "av:[10.0.0.1]", ""},
		{"access table FILTER alone", "", "", smtp("filter", "av:"), "av:", ""},
		{"last access table FILTER", "", "", smtp("filter", "a:x", "filter", "b:y"), "b:y", ""},
		{"receiver says none", scan, "", smtp("content_filter", ""), "", ""},
		{"receiver's own", scan, "", smtp("content_filter", "other:[h]"), "other:[h]", ""},
		{"receiver says none, access FILTER", scan, "", smtp("content_filter", "", "filter", "av:"), "av:", ""},
		{"header FILTER wins", scan, "/^Subject:/ FILTER hdr:[h]", smtp("filter", "av:"), "hdr:[h]", "filter: header Subject: x"},
		{"bounces are not filtered", scan, "", from("bounce"), "", ""},
		{"forwarded mail is not filtered", scan, "", from("local"), "", ""},
		{"pickup is filtered", scan, "", from("pickup"), scan, ""},
		{"requeue is filtered anew", scan, "", from("postsuper", "filter", "old:[h]"), scan, ""},
		{"invalid content_filter", "scan", "", smtp(), "", "warning: QID: ignoring invalid content filter from content_filter: scan"},
		{"invalid FILTER falls back", scan, "", smtp("filter", "bogus"), scan, "ignoring invalid content filter from smtpd: bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) {
				c.ContentFilter = tc.contentFilter
				if tc.headerChecks != "" {
					c.HeaderChecks = table(t, "regexp", tc.headerChecks)
				}
			})
			res, err := s.submit(tc.open, strings.Replace(checksMsg, "%s", "x", 1))
			if err != nil {
				t.Fatal(err)
			}
			_, f := s.queued(res.QueueID)
			var filters []string
			for _, a := range f.Envelope.Attrs {
				switch a.Name {
				case "filter":
					filters = append(filters, a.Value)
				case "content_filter":
					t.Errorf("content_filter attribute stored: %q", a.Value)
				}
			}
			want := []string{tc.want}
			if tc.want == "" {
				want = nil
			}
			if strings.Join(filters, "|") != strings.Join(want, "|") {
				t.Errorf("filter attributes %q, want %q", filters, want)
			}
			log := strings.ReplaceAll(s.log.String(), res.QueueID, "QID")
			if tc.log != "" && !strings.Contains(log, tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, log)
			}
			if tc.log == "" && strings.Contains(log, "warning") {
				t.Errorf("unexpected warning:\n%s", log)
			}
		})
	}
}
