package resolve

import (
	"context"
	"strings"
	"testing"
)

// FuzzResolve checks that no address makes the resolver panic or loop, and
// that every result is a user@domain address with a transport.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"", "bob", "bob@localhost", `"a@b"@localhost`, "a!b!c", "a%b%c@localhost",
		"@a,@b:c@d", "x@[192.0.2.25]", `"\"@\\"@localhost`, "a@b@c@localhost.", "!!!", "%%@@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rcpt string) {
		c := base(t)
		c.SwapBangpath, c.AllowPercentHack = true, true
		res, err := New(c).Resolve(context.Background(), rcpt)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", rcpt, err)
		}
		if !strings.Contains(res.Recipient, "@") || res.Transport == "" || res.Class == 0 {
			t.Fatalf("Resolve(%q) = %+v", rcpt, res)
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	c := base(b)
	r := New(c)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Resolve(ctx, "alice+x@remote.test"); err != nil {
			b.Fatal(err)
		}
	}
}
