package proto

// A maildrop file is written by postdrop and read by pickup: a queue file
// (package queue) whose envelope carries the submission as sendmail made
// it. Besides the CleanupOpen fields it keeps these attributes, which
// pickup turns back into submission flags and attributes for cleanup:
const (
	// AttrExtractRcpt "yes": take recipients from the message header
	// (sendmail -t, CleanupExtractRcpt).
	AttrExtractRcpt = "extract_recipients"
	// AttrDSNNotify is the DSN NOTIFY of the recipients taken from the
	// header (sendmail -t -N); cleanup reads it from CleanupOpen.Attrs.
	AttrDSNNotify = "dsn_notify"
	// AttrVERP holds the VERP delimiters of sendmail -XV.
	AttrVERP = "verp_delimiters"
)
