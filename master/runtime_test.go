package master

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestRuntimeEnv(t *testing.T) {
	for _, c := range []struct {
		daemon   string
		imported []string
		want     string
	}{
		{"smtpd", nil, "GODEBUG=" + sysmonGodebug},
		{"qmgr", []string{"MAIL_CONFIG", "TZ"}, "GODEBUG=" + sysmonGodebug},
		{"pickup", nil, ""},
		{"showq", nil, ""},
		{"smtpd", []string{"GODEBUG=gctrace=1"}, ""},
		{"cleanup", []string{"GODEBUG"}, ""},
	} {
		if got := runtimeEnv(c.daemon, c.imported); got != c.want {
			t.Errorf("runtimeEnv(%q, %q) = %q, want %q", c.daemon, c.imported, got, c.want)
		}
	}
}

// The runtime's scheduler line never reaches the mail log; the daemon's
// lines around it do, and so does a line that only looks a bit like it.
func TestReadLogDropsSchedLine(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sk := &sink{w: &syncWriter{b: &out}, host: "mx", now: func() time.Time { return time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC) }}
	m := &Master{sink: sk}
	done := make(chan struct{})
	go func() { m.readLog(&child{ready: true}, r, "postern/smtpd[7]: "); close(done) }()
	w.WriteString("postern/smtpd[7]: connect from a[1.2.3.4]\n")
	w.WriteString("SCHED 2147483647ms: gomaxprocs=2 idleprocs=1 threads=6 spinningthreads=0 needspinning=0 idlethreads=3 runqueue=0 [0 0]\n")
	w.WriteString("SCHEDULE me\n")
	w.Close()
	<-done
	got := out.String()
	want := "Nov 24 06:00:00 mx postern/smtpd[7]: connect from a[1.2.3.4]\n" +
		"Nov 24 06:00:00 mx postern/smtpd[7]: SCHEDULE me\n"
	if got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

type syncWriter struct{ b *bytes.Buffer }

func (s *syncWriter) Write(p []byte) (int, error) { return s.b.Write(p) }
