// Package arch holds no code: its tests enforce the architecture of the
// source tree (DESIGN.md §2 and §4).
//
//   - A program package (a top-level folder other than queue, mailq,
//     internal and cmd: the daemons and the commands) never imports another
//     program package. Daemons talk through internal/proto only.
//   - Library packages (queue, mailq, internal/...) never import a program.
//   - internal/proto is a leaf: of Postern's packages it imports only
//     internal/dsn.
//   - The set-group-ID binaries (cmd/postdrop, cmd/postqueue) link no SMTP
//     or daemon code.
package arch
