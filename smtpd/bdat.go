package smtpd

import (
	"strconv"
	"strings"
)

// BDAT (RFC 3030 CHUNKING): the content comes in counted chunks, not
// dot-stuffed. The first chunk opens the submission; LAST ends it.

type bdatState struct {
	msg *message
	// failed: a chunk was refused; the rest of the transaction's chunks
	// are read and thrown away until LAST.
	failed string
}

func (s *session) bdatCmd(arg string) bool {
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 2 || !allDigits(fields[0]) ||
		(len(fields) == 2 && !strings.EqualFold(fields[1], "LAST")) {
		// We cannot tell where the chunk ends: hang up.
		s.reply("521 5.5.4 Syntax: BDAT count [LAST]")
		return false
	}
	size, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		s.reply("521 5.5.4 Syntax: BDAT count [LAST]")
		return false
	}
	last := len(fields) == 2
	if s.bdat == nil {
		reply := ""
		switch {
		case !s.inTransaction():
			reply = "503 5.5.1 Error: need MAIL command"
		case s.st.rcptCount == 0:
			reply = "554 5.5.1 Error: no valid recipients"
		case s.cfg.Restrictions:
			reply = s.checkData(stageData)
		}
		if reply != "" {
			if !s.skipChunk(size) {
				return false
			}
			s.reply("%s", reply)
			return false
		}
		m, ok := s.startMessage()
		if !ok {
			s.skipChunk(size)
			return false
		}
		s.bdat = &bdatState{msg: m}
	}
	b := s.bdat
	if b.failed == "" && s.cfg.MessageSizeLimit > 0 && s.actSize+size > s.cfg.MessageSizeLimit {
		s.log.Warning("%s: queue file size limit exceeded", orNoQueue(s.st.queueID))
		b.msg.tooBig = true
		b.msg.sub.Abort()
		b.failed = "552 5.3.4 Chunk exceeds message size limit"
	}
	if !s.readChunk(b.msg, size) {
		return false
	}
	if !last {
		if b.failed != "" {
			s.reply("%s", b.failed)
			return false
		}
		s.reply("250 2.0.0 Ok: %d bytes", size)
		return true
	}
	s.st.where = "END-OF-MESSAGE"
	if b.failed != "" {
		releaseMessage(b.msg)
		s.reply("%s", b.failed)
		s.resetTransaction()
		return false
	}
	return s.endMessage(b.msg)
}

// readChunk passes size bytes from the client to the message.
func (s *session) readChunk(m *message, size int64) bool {
	s.in.grow()
	for size > 0 {
		if s.in.buffered() == 0 {
			if err := s.in.fill(); err != nil {
				m.sub.Abort()
				s.inputError(err)
				s.hangup = true
				return false
			}
		}
		n := int64(s.in.buffered())
		if n > size {
			n = size
		}
		m.write(s, s.in.buf[s.in.r:s.in.r+int(n)])
		s.in.r += int(n)
		size -= n
	}
	return true
}

// skipChunk reads and drops a refused chunk.
func (s *session) skipChunk(size int64) bool {
	for size > 0 {
		if s.in.buffered() == 0 {
			if err := s.in.fill(); err != nil {
				s.inputError(err)
				s.hangup = true
				return false
			}
		}
		n := min(int64(s.in.buffered()), size)
		s.in.r += int(n)
		size -= n
	}
	return true
}
