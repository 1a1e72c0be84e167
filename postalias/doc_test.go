package postalias

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// TestDocNamesParameters: every main.cf parameter postalias reads is in
// its manual.
func TestDocNamesParameters(t *testing.T) {
	doccheck.Manual{Min: 2}.Check(t)
}
