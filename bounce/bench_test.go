package bounce

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// BenchmarkDeferAppend measures the append of one deferral to a defer log,
// what every deferred delivery costs bounce.
func BenchmarkDeferAppend(b *testing.B) {
	fx := newFixture(b, nil)
	entry := proto.LogEntry{Recipient: "slow@remote.test", Status: &dsn.Status{Code: 450, Enhanced: "4.4.1"}, Action: proto.ActionDelayed,
		Reason: "connect to mx.remote.test[192.0.2.25]:25: Connection timed out"}
	id := fx.queueMessage(queue.Deferred, envelope("alice@mx.example.test", queue.Recipient{Addr: "slow@remote.test"}), original)
	req := &proto.BounceRequest{Op: proto.BounceOpAppend, Log: proto.LogDefer, Queue: queue.Deferred, QueueID: id, Entries: []proto.LogEntry{entry}}
	b.ReportAllocs()
	for b.Loop() {
		if rep := fx.call(req); rep.Status != nil {
			b.Fatal(rep.Status)
		}
		if err := fx.layout.RemoveLog(queue.Defer, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBounce measures a whole non-delivery report of a 4 KB message:
// fsynced bounce log append, notify, composition and submission to a
// (fake) cleanup over a Unix socket.
func BenchmarkBounce(b *testing.B) {
	fx := newFixture(b, nil)
	body := original + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 60)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), body)
	appendReq := &proto.BounceRequest{Op: proto.BounceOpAppend, Log: proto.LogBounce, Queue: queue.Active, QueueID: id, Entries: []proto.LogEntry{smtpFailure}}
	notifyReq := &proto.BounceRequest{Op: proto.BounceOpNotify, Report: proto.ReportBounce, Queue: queue.Active, QueueID: id}
	b.ReportAllocs()
	for b.Loop() {
		if rep := fx.call(appendReq); rep.Status != nil {
			b.Fatal(rep.Status)
		}
		if rep := fx.call(notifyReq); rep.Status != nil {
			b.Fatal(rep.Status)
		}
	}
}
