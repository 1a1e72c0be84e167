package proto

// intern gives b as a string. For the values that recur in every message
// (queue, transport and attribute names, actions, protocols) it returns a
// constant instead of a new string.
func intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "active":
		return "active"
	case "smtp":
		return "smtp"
	case "relay":
		return "relay"
	case "local":
		return "local"
	case "virtual":
		return "virtual"
	case "lmtp":
		return "lmtp"
	case "smtpd":
		return "smtpd"
	case "remote":
		return "remote"
	case "NEVER":
		return "NEVER"
	case "sendmail":
		return "sendmail"
	case "pickup":
		return "pickup"
	case "SMTP":
		return "SMTP"
	case "ESMTP":
		return "ESMTP"
	case ActionDelivered:
		return ActionDelivered
	case ActionRelayed:
		return ActionRelayed
	case ActionFailed:
		return ActionFailed
	case ActionDelayed:
		return ActionDelayed
	case "X-Postfix":
		return "X-Postfix"
	case "2.0.0":
		return "2.0.0"
	case AttrClientName:
		return AttrClientName
	case AttrClientAddr:
		return AttrClientAddr
	case AttrClientPort:
		return AttrClientPort
	case AttrReverseName:
		return AttrReverseName
	case AttrHeloName:
		return AttrHeloName
	case AttrProtocol:
		return AttrProtocol
	case AttrLogIdent:
		return AttrLogIdent
	case AttrRewriteContext:
		return AttrRewriteContext
	case AttrEncoding:
		return AttrEncoding
	case AttrContentFilter:
		return AttrContentFilter
	case AttrSMTPUTF8:
		return AttrSMTPUTF8
	case AttrUID:
		return AttrUID
	}
	return string(b)
}
