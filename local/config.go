package local

import (
	"context"
	"time"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/resolve"
)

// Config is everything the agent uses, read once by Serve from main.cf.
type Config struct {
	// Service is the master.cf service name: relay= in the log, and the
	// transport name that means "this agent" when an alias resolves.
	Service  string
	QueueDir string
	// CleanupService is cleanup_service_name: forwarded copies go to
	// public/NAME (or private/NAME).
	CleanupService string
	HashQueues     []string
	HashDepth      int
	MyOrigin       string
	Hostname       string // the system's host name, for Maildir file names
	MyHostname     string // myhostname: the forwarded copies' Received: header
	MailName       string // mail_name: the same
	Grace          time.Duration
	IdleLimit      time.Duration // how long a qmgr connection may sit idle

	// AliasMaps are alias_maps, in order; the owner of the file a table
	// reads (maps.Source) gives the rights for its commands and files.
	AliasMaps []maps.Table
	// ForwardPath are the forward_path templates, expanded per recipient.
	ForwardPath []string
	// Expand expands a template with per-recipient names (user, home, …)
	// and main.cf parameters (config.Config.ExpandWith).
	Expand                 func(template string, vars map[string]string) (string, error)
	ForwardExpansionFilter string
	CommandExpansionFilter string
	ExecDirectory          string // command_execution_directory template
	ExecDirExpansionFilter string
	AllowCommands          expansion // allow_mail_to_commands
	AllowFiles             expansion // allow_mail_to_files
	DeliveredHeader        deliveredMask
	CommandTimeLimit       time.Duration
	CommandShell           string   // local_command_shell
	ExportEnvironment      []string // export_environment, as NAME or NAME=value
	HomeMailbox            string
	MailSpoolDirectory     string
	MailboxCommand         string
	MailboxCommandMaps     maps.Table
	MailboxTransport       string
	MailboxTransportMaps   maps.Table
	FallbackTransport      string
	FallbackTransportMaps  maps.Table
	MailboxSizeLimit       int64
	Locking                mailbox.Locking
	LuserRelay             string // template
	RecipientDelimiter     string
	OwnerRequestSpecial    bool
	ExpandOwnerAlias       bool
	RequireHomeDirectory   bool
	StrictMailboxOwnership bool
	FrozenDeliveredTo      bool
	Biff                   bool
	DefaultPrivs           privexec.Cred // default_privs, looked up
	DuplicateFilterLimit   int
	HeaderSizeLimit        int64
	SoftBounce             bool
	PassTimeout            time.Duration // a delivery handed to mailbox_transport and the like
	ForwardTimeout         time.Duration // resubmitting through cleanup
	StepTimeout            time.Duration // a mailbox or file write in a helper

	// Resolver decides whether an address from an alias or .forward is
	// this agent's (delivered at once) or not (forwarded).
	Resolver Resolver
	// Users looks up accounts; nil uses the system's passwd.
	Users Users
	// Runner runs steps as users; nil starts "postern privexec".
	Runner *privexec.Runner
}

// Resolver is the part of internal/resolve the agent needs.
type Resolver interface {
	Resolve(ctx context.Context, rcpt string) (resolve.Result, error)
}

// expansion says where an address came from: the kinds allow_mail_to_files
// and allow_mail_to_commands name.
type expansion int

const (
	expAlias expansion = 1 << iota
	expForward
	expInclude
)

// parseExpansion reads "alias, forward, include".
func parseExpansion(items []string) (expansion, error) {
	var e expansion
	for _, it := range items {
		switch it {
		case "alias":
			e |= expAlias
		case "forward":
			e |= expForward
		case "include":
			e |= expInclude
		default:
			return 0, &configError{"unknown expansion type " + `"` + it + `"` + " (use alias, forward, include)"}
		}
	}
	return e, nil
}

// deliveredMask says which deliveries get a Delivered-To header.
type deliveredMask int

const (
	deliveredCommand deliveredMask = 1 << iota
	deliveredFile
	deliveredForward
)

// parseDelivered reads prepend_delivered_header: "command, file, forward".
func parseDelivered(items []string) (deliveredMask, error) {
	var m deliveredMask
	for _, it := range items {
		switch it {
		case "command":
			m |= deliveredCommand
		case "file":
			m |= deliveredFile
		case "forward":
			m |= deliveredForward
		default:
			return 0, &configError{"prepend_delivered_header: unknown value " + `"` + it + `"` + " (use command, file, forward)"}
		}
	}
	return m, nil
}

type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }
