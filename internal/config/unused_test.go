package config

import (
	"reflect"
	"testing"
)

func TestUnused(t *testing.T) {
	c, err := Parse("/x/main.cf", []byte(`myhostname = mx.example.com
my_trusted = 10.0.0.0/8
mynetworks = 127.0.0.0/8 $my_trusted
foo_bar = 1
relay_destination_concurrency_limit = 3
xyz_destination_concurrency_limit = 3
mypipe_time_limit = 60s
relay_initial_destination_concurrency = 2
smtpd_restriction_classes = strict
strict = reject_unknown_sender_domain
virtual_maps = hash:/etc/postern/virtual
mua_restrictions = permit_sasl_authenticated, reject
`))
	if err != nil {
		t.Fatal(err)
	}
	services := []string{"smtp", "relay", "mypipe"}
	want := []Option{{"foo_bar", "1"}, {"xyz_destination_concurrency_limit", "3"}, {"mua_restrictions", "permit_sasl_authenticated, reject"}}
	if got := c.Unused(services); !reflect.DeepEqual(got, want) {
		t.Errorf("Unused = %q\nwant %q", got, want)
	}
	// A master.cf -o value that refers to it uses it.
	want = want[:2]
	if got := c.UnusedIn(services, []string{"$mua_restrictions"}); !reflect.DeepEqual(got, want) {
		t.Errorf("UnusedIn = %q\nwant %q", got, want)
	}
	u := c.Uses(services, nil)
	if !u.Known("relay_destination_recipient_limit") || u.Known("relay_bogus") || !u.Known("smtpd_banner") {
		t.Errorf("Known is wrong")
	}
}
