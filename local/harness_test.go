package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/privexec/privexectest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
	"github.com/postern-mta/postern/queue"
)

func TestMain(m *testing.M) { privexectest.Main(m) }

// root tells whether the tests really change users.
var root = os.Geteuid() == 0

// fakeUsers is a passwd of test accounts whose homes are in the test's
// directory. As root their IDs are unused numbers; otherwise they are all
// the caller.
type fakeUsers struct {
	byName map[string]*User
}

func (f *fakeUsers) Lookup(name string) (*User, error) { return f.byName[name], nil }

func (f *fakeUsers) LookupUID(uid uint32) (*User, error) {
	for _, u := range f.byName {
		if u.UID == uid {
			return u, nil
		}
	}
	if uid == 0 {
		return &User{Name: "root", Home: "/root", Shell: "/bin/sh"}, nil
	}
	if uid == uint32(os.Getuid()) {
		// Not running as root, every file belongs to the caller.
		return &User{Name: "caller", UID: uid, GID: uint32(os.Getgid()), Home: os.TempDir(), Shell: "/bin/sh"}, nil
	}
	return nil, nil
}

// harness is a local agent serving a temporary queue directory, with a
// fake cleanup service that records forwarded messages.
type harness struct {
	t       *testing.T
	dir     string
	cfg     Config
	layout  *queue.Layout
	users   *fakeUsers
	log     *mtatest.LogBuffer
	cleanup *mtatest.FakeCleanup
	client  *proto.DeliverClient
	agent   *Agent
}

const hostname = "mx.example.test"

// newHarness prepares an agent; change h.cfg before h.start().
func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	h := &harness{t: t, dir: dir, log: &mtatest.LogBuffer{}, users: &fakeUsers{byName: map[string]*User{}}}
	queueDir := filepath.Join(dir, "spool")
	h.layout = queue.NewLayout(queueDir, []string{"deferred", "defer"}, 1)
	if err := h.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	os.Chmod(queueDir, 0o755)
	mailSpool := h.mkdir("mail", 0o1777)
	dest, err := matchlist.NewDomains([]string{hostname, "localhost"}, false, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	nobody := privexec.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if root {
		nobody = privexec.Cred{UID: 65534, GID: 65534}
	}
	h.cfg = Config{
		Service:                "local",
		QueueDir:               queueDir,
		CleanupService:         "cleanup",
		HashQueues:             []string{"deferred", "defer"},
		HashDepth:              1,
		MyOrigin:               hostname,
		Hostname:               "vm",
		MyHostname:             hostname,
		MailName:               "Postern",
		Grace:                  5 * time.Second,
		IdleLimit:              time.Minute,
		ForwardPath:            []string{"$home/.forward${recipient_delimiter}${extension}", "$home/.forward"},
		ForwardExpansionFilter: "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		CommandExpansionFilter: "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		AllowCommands:          expAlias | expForward,
		AllowFiles:             expAlias | expForward,
		DeliveredHeader:        deliveredCommand | deliveredFile | deliveredForward,
		CommandTimeLimit:       10 * time.Second,
		ExportEnvironment:      []string{"TZ", "MAIL_CONFIG", "LANG"},
		MailSpoolDirectory:     mailSpool,
		MailboxSizeLimit:       51200000,
		Locking:                mailbox.Locking{Fcntl: true, Dotlock: true, Attempts: 3, Delay: 10 * time.Millisecond, StaleTime: time.Hour},
		OwnerRequestSpecial:    true,
		StrictMailboxOwnership: true,
		FrozenDeliveredTo:      true,
		DefaultPrivs:           nobody,
		DuplicateFilterLimit:   1000,
		HeaderSizeLimit:        102400,
		PassTimeout:            10 * time.Second,
		ForwardTimeout:         10 * time.Second,
		StepTimeout:            10 * time.Second,
		Expand:                 expandForTest,
		Resolver: resolve.New(resolve.Config{
			MyHostname: hostname, MyOrigin: hostname, MyDomain: "example.test",
			MyDestination:  dest,
			LocalTransport: "local:" + hostname, VirtualTransport: "virtual",
			RelayTransport: "relay", DefaultTransport: "smtp",
		}),
		Users: h.users,
	}
	return h
}

// expandForTest expands $name, ${name} and ${name?value} from vars, enough
// for forward_path and luser_relay; the daemon uses internal/config.
func expandForTest(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			name, val, cond := strings.Cut(s[i+1:i+end], "?")
			if cond {
				if vars[name] != "" {
					b.WriteString(val)
				}
			} else {
				b.WriteString(vars[name])
			}
			i += end
			continue
		}
		j := i
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z') {
			j++
		}
		b.WriteString(vars[s[i:j]])
		i = j - 1
	}
	return b.String(), nil
}

func (h *harness) mkdir(rel string, mode os.FileMode) string {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		h.t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

// addUser makes an account with a home directory it owns.
func (h *harness) addUser(name string, uid uint32) *User {
	h.t.Helper()
	u := &User{Name: name, UID: uid, GID: uid + 1000, Home: h.mkdir("home/"+name, 0o755), Shell: "/bin/sh"}
	if !root {
		u.UID, u.GID = uint32(os.Getuid()), uint32(os.Getgid())
	}
	if root {
		os.Chown(u.Home, int(u.UID), int(u.GID))
	}
	h.users.byName[name] = u
	return u
}

// writeFileAs writes a file owned by uid (as root).
func (h *harness) writeFileAs(path, content string, uid, gid uint32, mode os.FileMode) {
	h.t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		h.t.Fatal(err)
	}
	os.Chmod(path, mode)
	if root {
		os.Chown(path, int(uid), int(gid))
	}
}

// aliases builds a hash: alias table from aliases(5) text and uses it.
func (h *harness) aliases(text string, owner uint32) {
	h.t.Helper()
	src := filepath.Join(h.dir, "aliases")
	os.WriteFile(src, []byte(text), 0o644)
	b, err := maps.Create(maps.DBPath(src), maps.BuildOptions{FoldCase: true})
	if err != nil {
		h.t.Fatal(err)
	}
	err = maps.ParseAliases(strings.NewReader(text), maps.SourceOptions{File: src}, func(e maps.Entry) error {
		return b.Add(e.Key, e.Value)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		h.t.Fatal(err)
	}
	if root {
		os.Chown(maps.DBPath(src), int(owner), int(owner))
	}
	t, err := maps.Open("hash:"+src, maps.Options{FoldCase: true, NoReload: true})
	if err != nil {
		h.t.Fatal(err)
	}
	h.cfg.AliasMaps = []maps.Table{t}
}

// start serves the agent on private/local and connects to it.
func (h *harness) start() {
	h.t.Helper()
	h.cleanup = mtatest.StartCleanup(h.t, proto.CleanupPath(h.cfg.QueueDir), func(n int, _ *proto.CleanupOpen) *proto.CleanupResult {
		return &proto.CleanupResult{QueueID: fmt.Sprintf("FWD%d", n)}
	})
	if h.cfg.Runner == nil {
		h.cfg.Runner = privexectest.Runner(h.t)
	}
	a, err := NewAgent(h.cfg, maillog.New(h.log, "postern", "local", 4242))
	if err != nil {
		h.t.Fatal(err)
	}
	h.agent = a
	sock := proto.PrivatePath(h.cfg.QueueDir, h.cfg.Service)
	h.t.Cleanup(a.Close)
	mtatest.RunServer(h.t, sock, func(ctx context.Context, lns []net.Listener) error { return a.Serve(ctx, lns, 0) })
	h.client = mtatest.DialDeliver(h.t, sock)
}

// message is a queued message to deliver.
type testMessage struct {
	sender  string
	rcpts   []string
	content string
	attrs   []queue.Attr
}

// queueMessage writes a message into active/ and returns its ID.
func (h *harness) queueMessage(m testMessage) string {
	h.t.Helper()
	env := &queue.Envelope{Arrival: time.Now().Add(-2 * time.Second), Sender: m.sender, Attrs: m.attrs}
	for _, r := range m.rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: r})
	}
	return mtatest.WriteQueueFile(h.t, h.layout, queue.Active, env, m.content)
}

// deliver asks the agent to deliver the message to its recipients.
func (h *harness) deliver(id string, flags uint32) *proto.DeliverReply {
	h.t.Helper()
	qf, err := queue.Open(h.layout.Path(queue.Active, id), false)
	if err != nil {
		h.t.Fatal(err)
	}
	defer qf.Close()
	req := &proto.DeliverRequest{
		Queue:     queue.Active,
		QueueID:   id,
		Transport: "local",
		Nexthop:   hostname,
		Sender:    qf.Envelope.Sender,
		Arrival:   qf.Envelope.Arrival,
		Active:    qf.Envelope.Arrival.Add(time.Second),
		Size:      qf.Size(),
		Flags:     flags,
	}
	for _, a := range qf.Envelope.Attrs {
		req.Attrs = append(req.Attrs, proto.Attr{Name: a.Name, Value: a.Value})
	}
	for _, r := range qf.Envelope.Recipients {
		req.Recipients = append(req.Recipients, proto.DeliverRcpt{Addr: r.Addr, Orig: r.Orig, Offset: r.Offset})
	}
	reply, err := h.client.Deliver(context.Background(), req, time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply
}

// send queues a message from alice and delivers it.
func (h *harness) send(rcpts ...string) (string, *proto.DeliverReply) {
	h.t.Helper()
	id := h.queueMessage(testMessage{sender: "alice@example.test", rcpts: rcpts, content: sampleMessage})
	return id, h.deliver(id, 0)
}

const sampleMessage = "Received: from client.example.test\nFrom: alice@example.test\nSubject: hello\n\nFrom the start.\n.dot\nbody\n"

// logLine returns the delivery log line about to=<to> or fails the test.
func (h *harness) logLine(to string) string {
	h.t.Helper()
	for _, l := range strings.Split(h.log.String(), "\n") {
		if strings.Contains(l, ": to=<"+to+">,") {
			return l
		}
	}
	h.t.Fatalf("no log line for to=<%s>; log:\n%s", to, h.log.String())
	return ""
}

// wantLog checks that the log line about to has each of parts.
func (h *harness) wantLog(to string, parts ...string) {
	h.t.Helper()
	l := h.logLine(to)
	for _, p := range parts {
		if !strings.Contains(l, p) {
			h.t.Errorf("log line %q lacks %q", l, p)
		}
	}
}
