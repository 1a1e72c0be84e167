package qmgr

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// TestDocNamesEveryParameter: the manual (doc.go) lists every parameter
// main.go reads.
func TestDocNamesEveryParameter(t *testing.T) {
	doccheck.Params(t, "doc.go", "main.go")
}
