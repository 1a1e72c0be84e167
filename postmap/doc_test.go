package postmap

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// TestDocNamesParameters: every main.cf parameter postmap reads is in
// its manual.
func TestDocNamesParameters(t *testing.T) {
	doccheck.Manual{Min: 2}.Check(t)
}
