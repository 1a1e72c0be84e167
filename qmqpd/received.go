package qmqpd

import "time"

// receivedParams is what the Received: header of a QMQP message says.
type receivedParams struct {
	name, addr, host, mailName, queueID, rcpt string
	date                                      time.Time
}

// appendReceived writes Postfix's QMQP Received: header:
//
//	Received: from client.example (client.example [192.0.2.1])
//		by mx.example.test (Postern) with QMQP id QID
//		for <bob@example.test>; Sun, 22 Nov 2026 11:07:19 +0000 (UTC)
//
// and with several recipients "…with QMQP\n\tid QID; date".
func appendReceived(b []byte, p receivedParams) []byte {
	addr := p.addr
	for i := 0; i < len(addr); i++ {
		if addr[i] == ':' {
			addr = "IPv6:" + addr
			break
		}
	}
	b = append(b, "Received: from "+p.name+" ("+p.name+" ["+addr+"])\n"...)
	if p.rcpt != "" {
		b = append(b, "\tby "+p.host+" ("+p.mailName+") with QMQP id "+p.queueID+"\n\tfor <"+p.rcpt+">; "...)
	} else {
		b = append(b, "\tby "+p.host+" ("+p.mailName+") with QMQP\n\tid "+p.queueID+"; "...)
	}
	b = p.date.AppendFormat(b, "Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
	return append(b, '\n')
}
