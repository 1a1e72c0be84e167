# Postern build. "make build" puts every binary and name in bin/; "make test"
# runs every test; "make check" adds formatting, vet, staticcheck and the
# race detector; "make install" installs like a distribution would.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
SETGID_GROUP ?= postdrop
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/postern-mta/postern/internal/version.Version=$(VERSION)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)

# Names that are links to the one postern binary.
LINKS := postfix sendmail mailq newaliases postsuper postmap postalias postcat postconf

.PHONY: all build test check install run bench clean fmt

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/postern ./cmd/postern
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/postdrop ./cmd/postdrop
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/postqueue ./cmd/postqueue
	@for n in $(LINKS); do ln -sf postern bin/$$n; done

# Every test: unit tests and the end-to-end tests, which start the binaries
# in bin/ in temporary directories on free loopback ports.
test: build
	POSTERN_BIN=$(CURDIR)/bin $(GO) test -count=1 -timeout 20m ./...

check: build
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	POSTERN_BIN=$(CURDIR)/bin $(GO) test -race -count=1 -timeout 30m ./...

run: build
	bin/postern dev

# Measurements, each against a yardstick taken in the same run (the disk's
# own durable-create rate): the queue store, table lookups, the accept and
# relay paths of the running binary, 10,000 idle SMTP sessions, a listing
# of 100,000 deferred messages.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./queue/
	$(GO) test -run '^$$' -bench 'Lookup1M|Build1M' -benchtime 1x ./internal/maps/
	POSTERN_BIN=$(CURDIR)/bin $(GO) test -run '^$$' -bench . -benchtime 3000x -timeout 30m ./internal/mtatest/load/
	POSTERN_BIN=$(CURDIR)/bin POSTERN_LOAD=1 $(GO) test -count=1 -v -run 'TestIdleSessionsMemory' ./smtpd/
	POSTERN_BIN=$(CURDIR)/bin POSTERN_LOAD=1 $(GO) test -count=1 -v -run 'Hundred' ./showq/perf/

install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 bin/postern $(DESTDIR)$(SBINDIR)/postern
	install -m 0755 bin/postdrop $(DESTDIR)$(SBINDIR)/postdrop
	install -m 0755 bin/postqueue $(DESTDIR)$(SBINDIR)/postqueue
	@for n in postfix sendmail newaliases postsuper postmap postalias postcat postconf; do \
		ln -sf postern $(DESTDIR)$(SBINDIR)/$$n; done
	ln -sf ../sbin/postern $(DESTDIR)$(BINDIR)/mailq
	ln -sf ../sbin/postern $(DESTDIR)$(BINDIR)/newaliases
	@if getent group $(SETGID_GROUP) >/dev/null 2>&1; then \
		chgrp $(SETGID_GROUP) $(DESTDIR)$(SBINDIR)/postdrop $(DESTDIR)$(SBINDIR)/postqueue && \
		chmod 2755 $(DESTDIR)$(SBINDIR)/postdrop $(DESTDIR)$(SBINDIR)/postqueue; \
	else \
		echo "make install: group $(SETGID_GROUP) does not exist; postdrop and postqueue are not set-group-ID."; \
		echo "  Create it (groupadd --system $(SETGID_GROUP)) and run: postfix set-permissions"; \
	fi
	install -d -m 0755 $(DESTDIR)/etc/postern

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
