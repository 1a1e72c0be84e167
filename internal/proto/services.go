package proto

import (
	"path/filepath"
)

// Service names, protocol versions and socket classes. A socket lives at
// queue_directory/private/NAME or queue_directory/public/NAME, where NAME is
// the master.cf service name (so a transport "relay" is private/relay).
const (
	ServiceCleanup = "cleanup"
	ServiceQmgr    = "qmgr"
	ServicePickup  = "pickup"
	ServiceBounce  = "bounce"
	ServiceShowq   = "showq"
	// ServiceDeliver is the protocol every delivery agent speaks (smtp,
	// lmtp, local, virtual, pipe, error, discard), whatever its socket name.
	ServiceDeliver = "deliver"

	VersionCleanup = 2
	VersionQmgr    = 1
	VersionPickup  = 1
	VersionBounce  = 1
	VersionShowq   = 1
	VersionDeliver = 1
)

// PrivatePath is the socket of a service only the mail owner may use.
func PrivatePath(queueDir, name string) string {
	return filepath.Join(queueDir, "private", name)
}

// PublicPath is the socket of a service the setgid_group may use.
func PublicPath(queueDir, name string) string {
	return filepath.Join(queueDir, "public", name)
}

// Attr is one named attribute of a message (client_name, helo_name, …),
// carried in order.
type Attr struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// Attribute names shared by receivers, cleanup, the queue file and the
// delivery agents.
const (
	AttrClientName     = "client_name"
	AttrClientAddr     = "client_address"
	AttrClientPort     = "client_port"
	AttrReverseName    = "reverse_client_name"
	AttrHeloName       = "helo_name"
	AttrProtocol       = "protocol_name"
	AttrLogIdent       = "log_ident"
	AttrRewriteContext = "rewrite_context"
	AttrUID            = "uid"
	AttrEncoding       = "encoding"
	AttrSMTPUTF8       = "smtputf8"
	AttrSASLMethod     = "sasl_method"
	AttrSASLUsername   = "sasl_username"
	AttrSASLSender     = "sasl_sender"
	// AttrContentFilter is the content_filter of the service that received
	// the message (its main.cf value or its master.cf -o override; empty
	// for none), which cleanup applies. It is what makes a re-injection
	// service with "-o content_filter=" work.
	AttrContentFilter = "content_filter"
)

// Lookup returns the value of the first attribute named name.
func Lookup(attrs []Attr, name string) string {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}
